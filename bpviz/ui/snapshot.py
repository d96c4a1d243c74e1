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
                  select: str | None, step: tuple[str, int] | None = None) -> QImage:
    """The window's picture at `size`, with `document` open (and, with `step` =
    (phase, K), showing the K-th step of that phase of a pass); StepUnavailable
    when that step cannot be shown."""
    app = application()
    theme_manager().set_theme(theme)
    window = MainWindow(autosave=False, remember_layout=False)
    window.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen)
    window.editor.set_document(document, path)
    window.resize(*size)
    window.show()
    for _ in range(3):
        QApplication.processEvents()
    try:
        if step is not None:
            show_step(window, *step)
            window.resize(*size)  # the docks that appeared may have widened it
            QApplication.processEvents()
    except StepUnavailable:
        window.editor.undo_stack.setClean()
        window.close()
        raise
    window.view.zoom_to_fit()
    if step is not None:
        window.stepping.presenter.show(window.stepping.built)  # the node in view
    if select is not None:
        window.editor.set_selection([select])
    QApplication.processEvents()
    image = window.grab().toImage()
    window.editor.undo_stack.setClean()
    window.close()
    window.deleteLater()
    app.processEvents()
    return image


def show_step(window: MainWindow, phase: str, number: int) -> None:
    """Build the pass on this thread and show step `number` of `phase` (StepUnavailable if not)."""
    controller = window.stepping
    controller.presenter.pulses.enabled = False
    why = controller.build_now()
    if why is not None:
        raise StepUnavailable(why)
    try:
        controller.seek(phase, number)
    except IndexError as error:
        raise StepUnavailable(str(error)) from None
    for _ in range(3):
        QApplication.processEvents()
