"""The window's picture with a graph open, made without a screen (`bpviz snapshot`).

The command (bpviz.cli.snapshot) checks its arguments, loads the graph and
makes Qt render offscreen when there is no display; this module draws.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from bpviz.scene.theme import theme_manager
from bpviz.ui.app import application
from bpviz.ui.main_window import MainWindow


class StepUnavailable(ValueError):
    """The step asked for cannot be shown; the message says why."""


def render_window(document, path: str, size: tuple[int, int], theme: str,
                  select: str | None, step: tuple[str, int] | None = None,
                  update: dict | None = None, batch: int | None = None,
                  explain: tuple[str, str, tuple[int, ...]] | None = None,
                  tensor: str | None = None) -> QImage:
    """The window's picture at `size`, with `document` open (and, with `step` =
    (phase, K), showing the K-th step of that phase of a pass of `batch` samples:
    forward, backward or update; with `explain` = (node, tensor, index), that
    entry explained, at the node's step when no step is given; `tensor`, an npz
    key, is the tensor the Tensors panel shows); StepUnavailable when that step
    or entry cannot be shown. `update` ({"optimizer": "sgd", "lr": 0.05,
    "momentum": 0.9}, any of them) is chosen in the Training panel first, as a
    user would: the update steps show it."""
    if explain is not None and step is None:
        step = entry_step(document, explain)
    app = application()
    theme_manager().set_theme(theme)
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.editor.set_document(document, path)
    if update:
        choose_optimizer(window, **update)
    window.resize(*size)
    window.show()
    for _ in range(3):
        QApplication.processEvents()
    try:
        if step is not None:
            if batch is not None:
                window.workspace.set_settings(batch=batch)
            build_pass(window)
            window.resize(*size)  # the docks that appeared may have widened it
            QApplication.processEvents()
        window.view.zoom_to_fit()
        if step is not None:
            show_step(window, *step)  # after the zoom: the node comes into view
        if explain is not None:
            show_entry(window, explain, tensor)
    except StepUnavailable:
        window.editor.undo_stack.setClean()
        window.close()
        raise
    if select is not None:
        window.editor.set_selection([select])
    QApplication.processEvents()
    image = window.grab().toImage()
    window.editor.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()
    return image


def choose_optimizer(window: MainWindow, optimizer: str | None = None,
                     lr: float | None = None, momentum: float | None = None) -> None:
    """Set the Training panel's optimizer, learning rate and momentum."""
    from bpviz.ui.training.controls import OPTIMIZERS

    controls = window.training_dock.widget().controls
    if optimizer is not None:
        controls.optimizer.setCurrentText(next(label for label, name in OPTIMIZERS.items()
                                               if name == optimizer))
    if lr is not None:
        controls.lr.setValue(lr)
    if momentum is not None:
        controls.momentum.setValue(momentum)
    QApplication.processEvents()


def build_pass(window: MainWindow) -> None:
    """Build the workspace's pass on this thread, with no dots moving along the
    wires (StepUnavailable if it cannot be built)."""
    window.stepping.set_animate(False)
    why = window.workspace.build_pass()
    if why is not None:
        raise StepUnavailable(why)
    for _ in range(3):
        QApplication.processEvents()


def show_step(window: MainWindow, phase: str, number: int) -> None:
    """Move the workspace's pass to step `number` of `phase` (StepUnavailable if none)."""
    try:
        window.workspace.seek_step(phase, number)
    except IndexError as error:
        raise StepUnavailable(str(error)) from None
    for _ in range(3):
        QApplication.processEvents()


def entry_step(document, explain: tuple[str, str, tuple[int, ...]]) -> tuple[str, int]:
    """(phase, K) of the step of the entry's node that shows its tensor: the
    backward one for gradients, else the forward one."""
    from bpviz.graph import build_network

    node, tensor, _ = explain
    phase = "backward" if tensor.startswith("grad") else "forward"
    try:
        order = [spec.id for spec in build_network(document).order]
    except ValueError as error:
        raise StepUnavailable(str(error)) from None
    if node not in order:
        raise StepUnavailable(f"there is no node '{node}' in the graph")
    number = order.index(node) + 1 if phase == "forward" else len(order) - order.index(node)
    return phase, number


def show_entry(window: MainWindow, explain: tuple[str, str, tuple[int, ...]],
               tensor: str | None) -> None:
    """Explain the entry (on this thread) and show `tensor`'s tab (StepUnavailable if
    the entry or the tab is not there); the Tensors and Formula panels get half the
    window's height, so the sum can be read."""
    window.stepping.synchronous = True
    docks = window.stepping.docks
    half = window.height() // 2
    window.resizeDocks([docks["tensors"], docks["formula"]], [half, half],
                       Qt.Orientation.Vertical)
    QApplication.processEvents()
    window.view.zoom_to_fit()  # the canvas is smaller now
    try:
        window.workspace.choose_entry(*explain)
    except ValueError as error:
        raise StepUnavailable(str(error)) from None
    if tensor is not None:
        link = window.stepping.entry
        if not link.show_tensor(tensor):
            shown = ", ".join(sorted(link.links())) or "none"
            raise StepUnavailable(f"this step does not show {tensor} (it shows: {shown})")
    for _ in range(3):
        QApplication.processEvents()
