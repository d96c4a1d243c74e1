"""GraphView: the canvas widget. Zoom, pan, select, drop ops, draw wires, move nodes.

Mouse gestures become editor calls: a drop from the palette adds a node, a
drag from an output port to an input port connects them, a node drag is one
Move on the undo stack, Delete removes the selection. Refusals and shape
problems go to `status_message`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsView

from bpviz.scene.node_item import NodeItem, remove_from_scene
from bpviz.scene.port_item import PortItem
from bpviz.scene.scene import GraphScene
from bpviz.scene.wire_item import WIRE_SELECTED, WireItem, bezier
from bpviz.ui.canvas import placement
from bpviz.ui.canvas.group_menu import GroupCommands
from bpviz.ui.editor import EditError, GraphEditor

OP_MIME = "application/x-bpviz-op"
ZOOM_STEP = 1.15
MIN_SCALE, MAX_SCALE = 0.1, 5.0
MIN_FIT_SCALE = 0.15  # zoom to fit shrinks a huge graph no further; the rest scrolls
FIT_PAD = 40.0  # scene units kept free around the graph when fitting
SHOW_MARGIN = 80  # pixels left around a node scrolled into view, room permitting


class GraphView(QGraphicsView):
    status_message = Signal(str)

    def __init__(self, editor: GraphEditor, parent=None) -> None:
        self.editor = editor
        self.graph_scene = GraphScene(editor)
        super().__init__(self.graph_scene, parent)
        self.graph_scene.setParent(self)
        self.setRenderHints(QPainter.RenderHint.Antialiasing
                            | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        # NOTE: not FullViewportUpdate: a step restyles two or three items, and
        # following the current node scrolls; both then repaint only what changed
        # (a scroll blits the rest) instead of every wire and label on the canvas.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setAcceptDrops(True)
        self._wire_from: PortItem | None = None
        self._wire_item: QGraphicsPathItem | None = None
        self._hover_port: PortItem | None = None
        self._press_positions: dict[str, tuple[float, float]] | None = None
        self._pan_from: QPointF | None = None
        self._space_down = False
        self.fitted = False  # refit on every resize, until the user zooms
        self._fit_min = MIN_FIT_SCALE
        self.rubberBandChanged.connect(self._band_selects_nodes_only)
        editor.document_replaced.connect(self._cancel_gestures)
        editor.selection_changed.connect(self._show_selection)
        self.groups = GroupCommands(self)

    def contextMenuEvent(self, event) -> None:
        menu = self.groups.menu_at(self.mapToScene(event.pos()))
        if menu is not None:
            menu.exec(event.globalPos())
        else:
            super().contextMenuEvent(event)

    # -- zoom -----------------------------------------------------------
    def zoom(self, factor: float, focus: QPointF | None = None) -> None:
        """Scale by `factor` (kept within MIN_SCALE..MAX_SCALE) about `focus`, a
        viewport point that stays put (default: the middle of the view)."""
        self.fitted = False
        scale = self.transform().m11()
        factor = max(MIN_SCALE / scale, min(MAX_SCALE / scale, factor))
        spot = (focus or QPointF(self.viewport().rect().center())).toPoint()
        before = self.mapToScene(spot)
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.NoAnchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(anchor)
        drift = self.viewportTransform().map(before) - QPointF(spot)
        bars = self.horizontalScrollBar(), self.verticalScrollBar()
        bars[0].setValue(bars[0].value() + round(drift.x()))
        bars[1].setValue(bars[1].value() + round(drift.y()))

    def zoom_in(self) -> None:
        self.zoom(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom(1 / ZOOM_STEP)

    def reset_zoom(self) -> None:
        self.fitted = False
        self.resetTransform()

    def zoom_level(self) -> float:
        return self.transform().m11()

    def zoom_to_fit(self, min_scale: float = MIN_FIT_SCALE) -> None:
        """Show every node, centred and never magnified beyond 100 %. Shrinking
        stops at `min_scale`: a graph too big for that starts at its top left
        and the rest is a scroll away. The view stays fitted when it is resized
        (docks shown or hidden, the window resized) until the user zooms."""
        self.fitted, self._fit_min = True, min_scale
        if not self.graph_scene.nodes:
            self.resetTransform()
            self.centerOn(0, 0)
            return
        self.graph_scene.grow_rect()
        rect = self.graph_scene.itemsBoundingRect().adjusted(-FIT_PAD, -FIT_PAD,
                                                             FIT_PAD, FIT_PAD)
        seen = self.viewport().rect()
        scale = min(seen.width() / rect.width(), seen.height() / rect.height(), 1.0)
        scale = max(scale, min_scale)
        self.resetTransform()
        self.scale(scale, scale)
        width, height = seen.width() / scale, seen.height() / scale
        self.centerOn(rect.left() + min(width, rect.width()) / 2,
                      rect.top() + min(height, rect.height()) / 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.fitted:
            self.zoom_to_fit(self._fit_min)

    def visible_scene_rect(self) -> QRectF:
        return self.mapToScene(self.viewport().rect()).boundingRect()

    def bring_into_view(self, node_id: str, margin: int = SHOW_MARGIN) -> bool:
        """Scroll the least amount that shows the whole of node `node_id` (its box),
        with up to `margin` pixels around it; a node already in sight stays put,
        so a fitted view keeps its fit. Returns whether the view scrolled."""
        item = self.graph_scene.folding.shown_item(node_id)  # a folded group: its box
        if item is None:
            return False
        box = item.mapRectToScene(item.rect())
        if self.visible_scene_rect().contains(box):
            return False
        before = self.horizontalScrollBar().value(), self.verticalScrollBar().value()
        on_screen = self.mapFromScene(box).boundingRect()
        room = self.viewport().rect()
        x_margin = max(0, min(margin, (room.width() - on_screen.width()) // 2))
        y_margin = max(0, min(margin, (room.height() - on_screen.height()) // 2))
        self.ensureVisible(box, x_margin, y_margin)
        return before != (self.horizontalScrollBar().value(), self.verticalScrollBar().value())

    # -- placing new nodes --------------------------------------------------
    def node_boxes(self) -> list[QRectF]:
        return [item.mapRectToScene(item.rect()) for item in self.graph_scene.nodes.values()]

    def spot_in_sight(self, centre: tuple[float, float],
                      boxes: list[QRectF] | None = None) -> tuple[float, float]:
        """Where to centre a block of new nodes (`boxes` about its centre; default:
        one fresh node) wanted at `centre`: moved into the visible area, then
        on to the nearest place where it covers no node."""
        boxes = boxes or [placement.with_room(placement.NEW_NODE)]
        seen = self.visible_scene_rect()
        spot = placement.clamp_into(QPointF(*centre), boxes, seen)
        spot = placement.free_spot(spot, boxes, self.node_boxes(), seen)
        return spot.x(), spot.y()

    def add_in_sight(self, op_name: str) -> str:
        """Add a node of `op_name` in the middle of the view, or when it would cover a
        node there, at the nearest free place in sight; returns its id (EditError
        for an op that does not exist)."""
        centre = self.mapToScene(self.viewport().rect().center())
        box = NodeItem(self.editor.node_to_add(op_name)).rect()
        spot = (centre.x(), centre.y())
        if not placement.clear_of([box], centre, self.node_boxes(), 0.0):
            spot = self.spot_in_sight(spot, [placement.with_room(box)])
        return self.editor.add_node(op_name, spot)

    def _show_selection(self, ids: list) -> None:
        """A selection made elsewhere (the inspector, a paused run, a paste) comes
        into sight: unless one of its nodes is in sight already, the first one is
        scrolled in. A selection made on the canvas is where the user looks."""
        if self.graph_scene.selecting_here or not ids:
            return
        seen = self.visible_scene_rect()
        nodes = self.graph_scene.nodes
        if any(seen.contains(nodes[node_id].mapRectToScene(nodes[node_id].rect()))
               for node_id in ids if node_id in nodes):
            return
        self.bring_into_view(ids[0])

    def wheelEvent(self, event) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.zoom(ZOOM_STEP ** steps, event.position())
        event.accept()

    # -- keys -----------------------------------------------------------
    def keyPressEvent(self, event) -> None:
        key = event.key()
        if event.matches(QKeySequence.StandardKey.Delete) or key in (Qt.Key.Key_Delete,
                                                                     Qt.Key.Key_Backspace):
            self.delete_selection()
        elif event.matches(QKeySequence.StandardKey.ZoomIn) or (
                key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal)
                and event.modifiers() & Qt.KeyboardModifier.ControlModifier):
            self.zoom_in()
        elif event.matches(QKeySequence.StandardKey.ZoomOut):
            self.zoom_out()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down = True
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
        else:
            super().keyPressEvent(event)

    def keyReleaseEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self._space_down = False
                self.viewport().unsetCursor()
        else:
            super().keyReleaseEvent(event)

    def _cancel_gestures(self) -> None:
        """The scene was rebuilt: forget a wire or move in progress (its items are gone)."""
        self._wire_from = self._wire_item = self._hover_port = None
        self._press_positions = None

    def _band_selects_nodes_only(self, *_args) -> None:
        """A rubber band picks nodes; a wire is picked by clicking on it."""
        for item in self.graph_scene.selectedItems():
            if isinstance(item, WireItem):
                item.setSelected(False)

    def delete_selection(self) -> None:
        """Remove the selected nodes and cut the selected wires (one undo step)."""
        scene = self.graph_scene
        self.editor.remove_nodes(scene.selected_node_ids(), scene.selected_wires())

    # -- palette drops --------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(OP_MIME):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        if not event.mimeData().hasFormat(OP_MIME):
            event.ignore()
            return
        op_name = bytes(event.mimeData().data(OP_MIME)).decode("utf-8", "replace").strip()
        pos = self.mapToScene(event.position().toPoint())
        try:
            node_id = self.editor.add_node(op_name, (pos.x(), pos.y()))  # where let go
        except EditError as exc:
            self.status_message.emit(str(exc))
            event.ignore()
            return
        self.editor.set_selection([node_id])
        self.graph_scene.grow_rect()
        event.acceptProposedAction()

    # -- mouse ----------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        left = event.button() == Qt.MouseButton.LeftButton
        if event.button() == Qt.MouseButton.MiddleButton or (left and self._space_down):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if left:
            port = self.graph_scene.port_at(self.mapToScene(event.position().toPoint()))
            if port is not None:
                self._start_wire(port)
                event.accept()
                return
        super().mousePressEvent(event)
        if left:
            self._press_positions = self.graph_scene.item_positions()

    def mouseMoveEvent(self, event) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            bars = self.horizontalScrollBar(), self.verticalScrollBar()
            bars[0].setValue(bars[0].value() - round(delta.x()))
            bars[1].setValue(bars[1].value() - round(delta.y()))
            event.accept()
            return
        if self._wire_from is not None:
            self._drag_wire(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            if self._space_down:
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.viewport().unsetCursor()
            event.accept()
            return
        if self._wire_from is not None and event.button() == Qt.MouseButton.LeftButton:
            self._finish_wire(self.mapToScene(event.position().toPoint()))
            event.accept()
            return
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._finish_move()

    # -- node moves -----------------------------------------------------
    def _finish_move(self) -> None:
        before, self._press_positions = self._press_positions, None
        if before is None:
            return
        after = self.graph_scene.item_positions()
        moved = {node_id: pos for node_id, pos in after.items() if before.get(node_id) != pos}
        if moved:
            count = len(moved)
            self.editor.move_nodes(moved, f"Move {count} node{'s' if count > 1 else ''}")
            self.graph_scene.grow_rect()

    # -- wiring ---------------------------------------------------------
    def _start_wire(self, port: PortItem) -> None:
        self._wire_from = port
        self._wire_item = QGraphicsPathItem()
        pen = QPen(WIRE_SELECTED, 2.0, Qt.PenStyle.DashLine)
        self._wire_item.setPen(pen)
        self._wire_item.setZValue(3)
        self.graph_scene.addItem(self._wire_item)
        self._drag_wire(port.scene_centre())

    def _drag_wire(self, scene_pos: QPointF) -> None:
        start = self._wire_from.scene_centre()
        target = self._wire_target(scene_pos)
        if target is not self._hover_port:
            if self._hover_port is not None:
                self._hover_port.set_highlight(False)
            if target is not None:
                target.set_highlight(True)
            self._hover_port = target
        end = target.scene_centre() if target is not None else scene_pos
        path: QPainterPath = (bezier(start, end) if self._wire_from.kind == "out"
                              else bezier(end, start))
        self._wire_item.setPath(path)

    def _wire_target(self, scene_pos: QPointF) -> PortItem | None:
        """The port a wire dragged from `_wire_from` would end on at `scene_pos`."""
        if self._wire_from.kind == "out":
            return self.graph_scene.free_input_port(scene_pos)
        return self.graph_scene.port_at(scene_pos, "out")

    def _finish_wire(self, scene_pos: QPointF) -> None:
        if self._wire_item is None:
            self._wire_from = None
            return
        target = self._wire_target(scene_pos)
        start, self._wire_from = self._wire_from, None
        if self._hover_port is not None:
            self._hover_port.set_highlight(False)
            self._hover_port = None
        remove_from_scene(self._wire_item)
        self._wire_item = None
        if target is None:
            if start.kind == "in" and start.connected and not self.graph_scene.items(scene_pos):
                self.editor.disconnect(start.node_id, start.index)  # pulled off the port
                self.status_message.emit(f"disconnected input {start.index} of "
                                         f"'{start.node_id}'")
            return
        if start.kind == "out":
            self.connect_ports(start.node_id, target.node_id, target.index)
        else:
            self.connect_ports(target.node_id, start.node_id, start.index)

    def connect_ports(self, src: str, dst: str, port: int) -> bool:
        """editor.connect with the outcome told on `status_message`."""
        try:
            self.editor.connect(src, dst, port)
        except EditError as exc:
            self.status_message.emit(str(exc))
            return False
        error = self.editor.report.errors.get(dst)
        if error:
            self.status_message.emit(error)
        else:
            self.status_message.emit(f"connected '{src}' → '{dst}'")
        return True
