"""GraphScene: the canvas's items, kept in step with a SceneModel's document.

The scene builds all items when the model replaces the document and then
follows the document's events one by one (a moved node moves its item and
its wires; a changed parameter retitles one item). Shapes, parameter counts
and errors come from the model's `report_changed`. The model is the window's
GraphEditor, or a read-only DocumentModel for the exports.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtWidgets import QGraphicsScene

from bpviz.engine.shape_text import shape_text
from bpviz.graph import ShapeReport
from bpviz.graph.layout import COLUMN_GAP, WRAP_AFTER
from bpviz.scene import label_places, routing, step_drawing
from bpviz.scene.colours import canvas
from bpviz.scene.folding import Folding
from bpviz.scene.model import SceneModel
from bpviz.scene.node_item import NodeItem, remove_from_scene
from bpviz.scene.port_item import PORT_RADIUS, PortItem
from bpviz.scene.theme import theme_manager
from bpviz.scene.wire_item import WireItem, label_room

MARGIN = 2000.0


class GraphScene(QGraphicsScene):
    def __init__(self, model: SceneModel, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.nodes: dict[str, NodeItem] = {}
        self.wires: dict[tuple[str, int], WireItem] = {}
        self.folding = Folding(self)  # folded groups' boxes, unfolded groups' frames
        self.report = ShapeReport()
        self._fallback: dict[str, tuple[float, float]] = {}
        self._unsubscribe: Callable[[], None] = lambda: None
        self._syncing_selection = False
        self.selecting_here = False  # the model's selection comes from this scene's
        self._building = False
        self.step_state: tuple | None = None  # the arguments of the last show_step
        self._route_timer = QTimer(self)
        self._route_timer.setSingleShot(True)
        self._route_timer.setInterval(0)
        self._route_timer.timeout.connect(self.route_all)
        self.setBackgroundBrush(canvas("background"))
        theme_manager().changed.connect(self.apply_theme)
        model.document_replaced.connect(self.rebuild)
        model.report_changed.connect(self.apply_report)
        model.selection_changed.connect(self._select_ids)
        self.selectionChanged.connect(self._selection_to_model)
        model.measure = self.node_sizes
        model.locate = self.item_positions
        self.rebuild()

    # -- building -------------------------------------------------------
    def rebuild(self) -> None:
        """Drop every item and build them anew from the model's document."""
        self._unsubscribe()
        self.update(self.itemsBoundingRect())
        self._drop_items()
        doc = self.model.doc
        self._building = True
        self._fallback = {}
        self.step_state = None
        for node_id in doc.nodes:
            self._add_item(node_id)
        self.report = self.model.report
        self.folding.apply()
        if any(node.pos is None for node in doc.nodes.values()):
            # Columns far enough apart for the shape labels on the wires between them.
            gap = max(COLUMN_GAP, label_room(self.report.shapes.values()))
            self._fallback = self.folding.layout(self.node_sizes(), WRAP_AFTER, gap)
            for item in self.nodes.values():
                self._place(item)
            self.folding.place_boxes()
        for node_id in doc.nodes:
            self._sync_wires(node_id)
        self.folding.apply()
        self._building = False
        self.route_all()
        self._unsubscribe = doc.subscribe(self._on_event)
        self.apply_report(self.model.report)
        self.grow_rect()

    def _drop_items(self) -> None:
        """Forget the items, then delete them; the selection they lose as they go is
        not the model's (a new document with the same ids would take it over)."""
        self.nodes.clear()
        self.wires.clear()
        self.folding.forget()
        self._syncing_selection = True
        try:
            self.clear()
        finally:
            self._syncing_selection = False

    def _add_item(self, node_id: str) -> NodeItem:
        node = self.model.doc.nodes[node_id]
        item = NodeItem(node)
        self.nodes[node_id] = item
        self.addItem(item)
        self._place(item)
        self._apply_node_report(item)
        return item

    def _place(self, item: NodeItem) -> None:
        pos = self.model.doc.nodes[item.node_id].pos
        if pos is None:
            pos = self._fallback.get(item.node_id) or self._free_spot()
            self._fallback[item.node_id] = pos
        if item.pos() != QPointF(*pos):
            item.setPos(*pos)

    def _free_spot(self) -> tuple[float, float]:
        if not self.nodes:
            return 0.0, 0.0
        rect = self.itemsBoundingRect()
        return rect.right() + 160.0, rect.center().y()

    def _sync_wires(self, dst: str) -> None:
        """Make the wires into `dst` match its inputs list."""
        for key in [key for key in self.wires if key[0] == dst]:
            wire = self.wires.pop(key)
            remove_from_scene(wire)
            self._mark_output(wire.src)
        if dst not in self.nodes:
            return
        for port, src in enumerate(self.model.doc.nodes[dst].inputs):
            if src in self.nodes:
                wire = WireItem(self.nodes[src], self.nodes[dst], port)
                wire.set_label(shape_text(self.report.shapes.get(src)))
                self.wires[(dst, port)] = wire
                self.addItem(wire)
                self._mark_output(wire.src)
                if not self._building:
                    self._route_timer.start()

    def _mark_output(self, item: NodeItem) -> None:
        if item.out_port is not None:
            item.out_port.set_connected(any(w.src is item for w in self.wires.values()))

    # -- document events ------------------------------------------------
    def _on_event(self, event: str, payload: dict) -> None:
        handler = getattr(self, f"_on_{event}", None)
        if handler is not None:
            handler(**payload)

    def _on_node_added(self, id: str, **_) -> None:
        self._add_item(id)
        self._sync_wires(id)
        for consumer, _port in self.model.doc.consumers()[id]:
            self._sync_wires(consumer)

    def _on_node_removed(self, id: str, consumers: list[str], **_) -> None:
        for key in [key for key, wire in self.wires.items() if wire.src.node_id == id]:
            remove_from_scene(self.wires.pop(key))
        item = self.nodes.pop(id, None)
        self._sync_wires(id)
        if item is not None:
            remove_from_scene(item)
        # NOTE: a laid-out node keeps its place in _fallback: undoing the delete puts
        # it back where it was, not at the first free spot.
        for consumer in consumers:
            self._refresh_node(consumer)

    def _on_inputs_changed(self, id: str, **_) -> None:
        self._refresh_node(id)

    def _on_params_changed(self, id: str, **_) -> None:
        self._refresh_node(id)

    def _on_trainable_changed(self, id: str, **_) -> None:
        self._refresh_node(id)

    def _on_pos_changed(self, id: str, **_) -> None:
        if id in self.nodes:
            self._place(self.nodes[id])
            if id in self.folding.node_group:
                self.folding.place_boxes()

    def _on_groups_changed(self, **_) -> None:
        """Fold, unfold, group or ungroup: lay the picture out anew, keeping a step shown."""
        state = self.step_state
        self.rebuild()
        self._select_ids(list(getattr(self.model, "selection", [])))
        if state is not None:
            self.show_step(*state)

    def _on_node_renamed(self, old: str, new: str, **_) -> None:
        item = self.nodes.pop(old)
        self.nodes[new] = item
        if old in self._fallback:
            self._fallback[new] = self._fallback.pop(old)
        self.wires = {(new if dst == old else dst, port): wire
                      for (dst, port), wire in self.wires.items()}
        self._refresh_node(new)

    def _refresh_node(self, node_id: str) -> None:
        """Retitle one item, fix its ports and its incoming wires."""
        item = self.nodes.get(node_id)
        if item is None:
            return
        item.set_node(self.model.doc.nodes[node_id])
        self._sync_wires(node_id)
        self.node_moved(item)

    def apply_theme(self, _theme=None) -> None:
        """Repaint in the theme in use (items read its colours when they paint)."""
        self.setBackgroundBrush(canvas("background"))
        for item in self.nodes.values():
            item.update()  # drops its cached picture
            for port in [*item.in_ports, item.out_port]:
                if port is not None:
                    port.restyle()
        for wire in self.wires.values():
            wire.update()
        self.update()

    # -- report ---------------------------------------------------------
    def apply_report(self, report: ShapeReport) -> None:
        self.report = report
        resized = False
        for item in self.nodes.values():
            resized |= self._apply_node_report(item)
        if resized and not self._building:
            self.route_all()
        for wire in self.wires.values():
            wire.set_label(shape_text(report.shapes.get(wire.src.node_id)))
        if not self._building:
            self.folding.apply()
            self.place_labels()

    def _apply_node_report(self, item: NodeItem) -> bool:
        node_id = item.node_id
        return item.set_report(self.report.shapes.get(node_id), self.report.errors.get(node_id),
                        self.report.param_counts.get(node_id, 0))

    # -- geometry -------------------------------------------------------
    def node_moved(self, item: NodeItem) -> None:
        """Called by a NodeItem whenever it moves: its wires follow at once, and all
        wires are re-routed once the event loop is free (many moves, one routing)."""
        if self._building:
            return
        for wire in self.wires.values():
            if wire.src is item or wire.dst is item:
                wire.update_path()
        self._route_timer.start()

    def node_rect(self, item: NodeItem) -> routing.Rect:
        rect = item.mapRectToScene(item.rect()).adjusted(-8, -8, 8, 8)
        return rect.left(), rect.top(), rect.right(), rect.bottom()

    def route_all(self) -> None:
        """Decide which wires go around nodes and on which lanes; redraw every wire."""
        self._route_timer.stop()
        self.folding.apply()
        shown = [item for item in self.nodes.values() if item.isVisible()]
        rects = {item: self.node_rect(item) for item in [*shown, *self.folding.boxes.values()]}
        wires = [wire for wire in self.wires.values() if wire.isVisible()]
        specs = [wire.spec([rect for other, rect in rects.items() if other not in
                            (wire.src, wire.dst, wire.src_end, wire.dst_end)])
                 for wire in wires]
        lanes = routing.plan(specs)
        for wire in wires:
            wire.lane = lanes.get(wire.key)
            wire.update_path()
        self.place_labels()
        self.grow_rect()

    def place_labels(self) -> None:
        """Move the shown wires' labels clear of each other, of ports and of nodes."""
        wires = {wire.key: wire for wire in self.wires.values() if wire.isVisible()}
        asks = [ask for ask in (wire.label_places() for wire in wires.values()) if ask]
        shown = [*(item for item in self.nodes.values() if item.isVisible()),
                 *self.folding.boxes.values()]
        nodes = [_corners(item.mapRectToScene(item.rect())) for item in shown]
        nodes += [_corners(frame.label_rect()) for frame in self.folding.frames.values()]
        reach = PORT_RADIUS + 2
        ports = [(p.x() - reach, p.y() - reach, p.x() + reach, p.y() + reach)
                 for item in shown for p in item.port_positions()]
        for key, rect in label_places.place(asks, nodes, ports).items():
            wires[key].set_label_rect(rect)

    def node_sizes(self) -> dict[str, tuple[float, float]]:
        """id → (width, height) of each node as drawn, for the layout (and of each
        folded group's box, under its id in bpviz.graph.groups.folded_view)."""
        return {**{node_id: (item.rect().width(), item.rect().height())
                   for node_id, item in self.nodes.items()}, **self.folding.box_sizes()}

    def grow_rect(self) -> None:
        """Room to pan around the items; the rect only ever grows."""
        rect = self.itemsBoundingRect().adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)
        self.setSceneRect(self.sceneRect().united(rect))

    def item_positions(self) -> dict[str, tuple[float, float]]:
        return {node_id: (item.pos().x(), item.pos().y()) for node_id, item in self.nodes.items()}

    def port_at(self, scene_pos: QPointF, kind: str | None = None) -> PortItem | None:
        """The port under `scene_pos` (of `kind` "in"/"out" when given)."""
        area = QRectF(scene_pos.x() - 2, scene_pos.y() - 2, 4, 4)
        for item in self.items(area):
            if isinstance(item, PortItem) and (kind is None or item.kind == kind):
                return item
        return None

    def free_input_port(self, scene_pos: QPointF) -> PortItem | None:
        """An input port under `scene_pos`; over a node's body, its first free port
        (or its only port, whose wire a new one then replaces)."""
        port = self.port_at(scene_pos, "in")
        if port is not None:
            return port
        for item in self.items(scene_pos):
            if isinstance(item, NodeItem):
                free = [p for p in item.in_ports if not p.connected]
                if free:
                    return free[0]
                return item.in_ports[0] if len(item.in_ports) == 1 else None
        return None

    # -- step-through ---------------------------------------------------
    def show_step(self, active: str | None, wire_norms: step_drawing.WireNorms,
                  done: set[str] | frozenset[str], phase: str | None,
                  span: tuple[float, float] | None = None) -> None:
        """Draw one step of a pass: `active` glows, `done` nodes get a bar in the
        phase's colour; during backward each wire in `wire_norms` ((source,
        consumer, port) → ‖gradient‖) is coloured and thickened on a log scale over
        `span` (the pass's smallest and largest norm; default: those given)."""
        self.step_state = (active, dict(wire_norms), frozenset(done), phase, span)
        step_drawing.draw_step(self, active, wire_norms, done, phase, span)
        self.folding.show_step(active, done, phase)
        self.place_labels()

    def clear_step(self) -> None:
        """Back to the plain editing picture."""
        self.step_state = None
        step_drawing.clear_step(self)
        self.folding.clear_step()
        self.place_labels()

    def show_verification(self, results: dict[str, tuple[bool, str, str]]) -> None:
        """node id → (ok, short text, tooltip): a tick or a cross on each node."""
        for node_id, item in self.nodes.items():
            ok, text, tip = results.get(node_id, (None, "", ""))
            item.set_verify_badge(ok, text, tip)

    def clear_verification(self) -> None:
        for item in self.nodes.values():
            item.set_verify_badge(None)

    # -- selection ------------------------------------------------------
    def selected_node_ids(self) -> list[str]:
        order = list(self.model.doc.nodes)
        ids = [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]
        return sorted(ids, key=lambda node_id: order.index(node_id) if node_id in order else 0)

    def selected_wires(self) -> list[tuple[str, int]]:
        return [item.key for item in self.selectedItems() if isinstance(item, WireItem)]

    def _selection_to_model(self) -> None:
        if not self._syncing_selection:
            self.selecting_here = True
            try:
                self.model.set_selection(self.selected_node_ids())
            finally:
                self.selecting_here = False

    def _select_ids(self, ids: list) -> None:
        self._syncing_selection = True
        try:
            for node_id, item in self.nodes.items():
                item.setSelected(node_id in ids)
        finally:
            self._syncing_selection = False


def _corners(rect: QRectF) -> label_places.Rect:
    return rect.left(), rect.top(), rect.right(), rect.bottom()
