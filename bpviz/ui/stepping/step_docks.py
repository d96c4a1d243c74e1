"""The stepping docks: Tensors and Formula side by side, Receptive field tabbed.

`StepDocks` is mixed into StepController (bpviz.ui.stepping.controller): it
makes the three docks (hidden until the first pass), shows them the first time
a pass is built (or `show_docks` is called), other bottom docks becoming tabs
beside the formula while the window keeps its width, and keeps the
receptive-field panel, while in sight, on the node selected on the canvas, else the
current step's.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QWidget

from bpviz.graph.geometry import geometry_network
from bpviz.ui.stepping import FormulaPanel, ReceptiveFieldView, TensorView

Area = Qt.DockWidgetArea
TENSOR_SHARE = 58  # per cent of the window's width for the tensors beside the formula
MIN_DOCK_WIDTH = 220


def in_sight(widget: QWidget) -> bool:
    """Shown and not hidden behind another tab of its dock area.

    NOTE: a dock tabbed behind another one still says isVisible(); only its
    visible region is empty. The receptive field's effective field is a whole
    backward pass, so it must not be drawn for a tab nobody sees.
    """
    return widget.isVisible() and not widget.visibleRegion().isEmpty()


class StepDocks:
    """The Tensors, Formula and Receptive field docks of the controller's `window`."""

    def _build_docks(self) -> None:
        window = self.window
        self.tensors, self.formula = TensorView(), FormulaPanel()
        self.receptive = ReceptiveFieldView()
        self.receptive.synchronous = lambda: self.synchronous
        workspace = self.workspace
        self.receptive.set_geometry(lambda: geometry_network(workspace.doc, workspace.report))
        for widget in (self.tensors, self.formula, self.receptive):
            widget.setMinimumWidth(MIN_DOCK_WIDTH)  # the docks must not widen the window
        bottom = Area.BottomDockWidgetArea
        self.docks = {"tensors": window.add_dock("Tensors", self.tensors, bottom),
                      "formula": window.add_dock("Formula", self.formula, bottom),
                      "receptive": window.add_dock("Receptive field", self.receptive, bottom)}
        window.splitDockWidget(self.docks["tensors"], self.docks["formula"],
                               Qt.Orientation.Horizontal)
        window.tabifyDockWidget(self.docks["formula"], self.docks["receptive"])
        self.docks["formula"].raise_()
        for dock in self.docks.values():
            dock.hide()
        self.docks["receptive"].visibilityChanged.connect(self._receptive_shown)
        self._docks_shown = False

    def _receptive_follows(self) -> None:
        """While the receptive-field panel is in sight, it shows the node selected on
        the canvas, else the current step's, whenever that node has feature maps
        with a receptive field."""
        view = self.receptive
        if not in_sight(view) or self.bar.playing:
            return
        selected = self.window.editor.selection
        step = self.session.current if self.session is not None else None
        wanted = ([selected[0]] if len(selected) == 1 else []) + ([step.node] if step else [])
        node = next((node for node in wanted if view.node.findText(node) >= 0), None)
        if node is not None and view.node.currentText() != node:
            view.set_node(node)

    def _receptive_shown(self, visible: bool) -> None:
        """The receptive tab came to the front: it catches up with the graph and the node."""
        if visible:
            self.receptive.catch_up()
            QTimer.singleShot(0, self._receptive_follows)  # once the tab is laid out

    def show_docks(self) -> None:
        """The first time (the first pass, or the Quick Tour's stop at them): show the
        docks; other bottom docks become tabs beside the formula (the window keeps
        its width), the formula in front."""
        if self._docks_shown:
            return
        self._docks_shown = True
        window, mine = self.window, set(self.docks.values())
        size = window.size()
        for other in window.findChildren(QDockWidget):
            if (other not in mine and other.isVisible() and not other.isFloating()
                    and window.dockWidgetArea(other) == Area.BottomDockWidgetArea):
                window.tabifyDockWidget(self.docks["receptive"], other)
        for dock in self.docks.values():
            dock.show()
        self.docks["formula"].raise_()
        if not (window.isMaximized() or window.isFullScreen()):
            window.resize(size)
        # NOTE: the maps need the room more than the formula's few lines do.
        width = window.width()
        window.resizeDocks([self.docks["tensors"], self.docks["formula"]],
                           [width * TENSOR_SHARE // 100, width * (100 - TENSOR_SHARE) // 100],
                           Qt.Orientation.Horizontal)
