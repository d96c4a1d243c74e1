"""The canvas driven with real mouse, key and drop events on the view's viewport."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.graph import GraphDocument, NodeData, dumps_graph, load_graph  # noqa: E402
from bpviz.scene.fonts import FONT_POINTS  # noqa: E402
from bpviz.ui.canvas import OP_MIME, GraphView  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
LEFT = Qt.MouseButton.LeftButton


def two_inputs_doc() -> GraphDocument:
    """Two inputs of different shapes, an add and a relu, nothing wired yet."""
    return GraphDocument("t", [
        NodeData("a", "input", params={"shape": [4, 8, 8]}, pos=(0.0, -80.0)),
        NodeData("b", "input", params={"shape": [3, 8, 8]}, pos=(0.0, 80.0)),
        NodeData("s", "add", pos=(300.0, 0.0)),
        NodeData("r", "relu", pos=(550.0, 0.0)),
    ])


@pytest.fixture
def view(qtbot):
    editor = GraphEditor(two_inputs_doc())
    widget = GraphView(editor)
    widget.resize(1000, 600)
    qtbot.addWidget(widget)
    widget.show()
    qtbot.waitExposed(widget)
    widget.centerOn(275, 0)
    return widget


def at(view: GraphView, scene_pos: QPointF) -> QPoint:
    return view.mapFromScene(scene_pos)


def drag(qtbot, view: GraphView, start: QPointF, end: QPointF, steps: int = 4) -> None:
    """Press at scene point `start`, move in steps, release at `end`."""
    port = view.viewport()
    p0, p1 = at(view, start), at(view, end)
    qtbot.mousePress(port, LEFT, pos=p0)
    for i in range(1, steps + 1):
        qtbot.mouseMove(port, p0 + (p1 - p0) * i / steps)
    qtbot.mouseRelease(port, LEFT, pos=p1)


def wire(qtbot, view: GraphView, src: str, dst: str, port: int) -> None:
    nodes = view.graph_scene.nodes
    drag(qtbot, view, nodes[src].out_port.scene_centre(), nodes[dst].in_port_pos(port))


# -- wiring ------------------------------------------------------------------------
def test_drag_from_output_to_input_port_connects(qtbot, view):
    wire(qtbot, view, "s", "r", 0)
    assert view.editor.doc.nodes["r"].inputs == ["s"]
    assert ("r", 0) in view.graph_scene.wires
    assert view.editor.undo_stack.count() == 1


def test_drag_from_input_port_to_output_port_connects(qtbot, view):
    nodes = view.graph_scene.nodes
    drag(qtbot, view, nodes["r"].in_port_pos(0), nodes["a"].out_port.scene_centre())
    assert view.editor.doc.nodes["r"].inputs == ["a"]


def test_add_of_mismatched_shapes_turns_red_with_reason(qtbot, view):
    messages = []
    view.status_message.connect(messages.append)
    wire(qtbot, view, "a", "s", 0)
    item = view.graph_scene.nodes["s"]
    assert len(item.in_ports) == 2  # the add grew a free port
    wire(qtbot, view, "b", "s", 1)
    assert view.editor.doc.nodes["s"].inputs == ["a", "b"]
    error = view.editor.report.errors["s"]
    assert item.has_error and error in item.toolTip()
    assert messages[-1] == error and "4×8×8 and 3×8×8" in error
    assert len(item.in_ports) == 3
    assert not item.incomplete
    view.editor.undo()
    assert item.has_error and "4×8×8 and 3×8×8" not in item.toolTip()
    assert item.incomplete  # one input short: drawn dashed
    assert len(item.in_ports) == 2
    view.editor.redo()
    view.editor.set_params("b", {"shape": [4, 8, 8]})
    assert not item.has_error and "Error" not in item.toolTip()
    assert view.graph_scene.wires[("s", 1)].label == "4×8×8"


def test_wire_that_closes_a_cycle_is_refused(qtbot, view):
    messages = []
    view.status_message.connect(messages.append)
    wire(qtbot, view, "a", "s", 0)
    wire(qtbot, view, "s", "r", 0)
    view.editor.add_node("add", (300.0, -250.0))
    view.editor.connect("r", "add_1", 0)
    before = dumps_graph(view.editor.doc)
    wire(qtbot, view, "add_1", "s", 1)
    assert "cycle" in messages[-1]
    assert dumps_graph(view.editor.doc) == before


def test_wire_dropped_on_a_node_body_takes_its_free_port(qtbot, view):
    nodes = view.graph_scene.nodes
    drag(qtbot, view, nodes["a"].out_port.scene_centre(), nodes["r"].mapToScene(QPointF(0, 5)))
    assert view.editor.doc.nodes["r"].inputs == ["a"]
    # a single-input node that is already fed: the new wire replaces the old one
    drag(qtbot, view, nodes["b"].out_port.scene_centre(), nodes["r"].mapToScene(QPointF(0, 5)))
    assert view.editor.doc.nodes["r"].inputs == ["b"]


def test_target_port_lights_up_while_dragging(qtbot, view):
    nodes = view.graph_scene.nodes
    port = view.viewport()
    qtbot.mousePress(port, LEFT, pos=at(view, nodes["a"].out_port.scene_centre()))
    qtbot.mouseMove(port, at(view, nodes["r"].in_port_pos(0)))
    assert nodes["r"].in_ports[0]._hover
    qtbot.mouseRelease(port, LEFT, pos=at(view, nodes["r"].in_port_pos(0)))
    assert not nodes["r"].in_ports[0]._hover


def test_pulling_a_wire_off_its_input_port_disconnects(qtbot, view):
    view.editor.connect("a", "r", 0)
    drag(qtbot, view, view.graph_scene.nodes["r"].in_port_pos(0), QPointF(450, 250))
    assert view.editor.doc.nodes["r"].inputs == []
    assert ("r", 0) not in view.graph_scene.wires


def test_new_document_during_a_wire_drag_cancels_it(qtbot, view):
    port = view.viewport()
    start = at(view, view.graph_scene.nodes["a"].out_port.scene_centre())
    qtbot.mousePress(port, LEFT, pos=start)
    qtbot.mouseMove(port, start + QPoint(60, 0))
    view.editor.set_document(two_inputs_doc())
    qtbot.mouseMove(port, start + QPoint(90, 0))
    qtbot.mouseRelease(port, LEFT, pos=start + QPoint(90, 0))
    assert view.editor.undo_stack.count() == 0


def test_drop_on_empty_canvas_adds_no_wire(qtbot, view):
    start = view.graph_scene.nodes["a"].out_port.scene_centre()
    drag(qtbot, view, start, QPointF(150, 250))
    assert view.editor.undo_stack.count() == 0
    assert view.graph_scene.items() and all(
        item.zValue() != 3 for item in view.graph_scene.items())  # temporary wire gone


# -- palette drop ------------------------------------------------------------------
def send_drop(view: GraphView, op_name: str, pos: QPoint) -> QDropEvent:
    mime = QMimeData()
    mime.setData(OP_MIME, op_name.encode("utf-8"))
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos, actions, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(pos), actions, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), drop)
    return drop


def test_palette_drop_adds_node_at_drop_position(view):
    pos = QPoint(700, 450)
    send_drop(view, "conv2d", pos)
    node = view.editor.doc.nodes["conv2d_1"]
    expected = view.mapToScene(pos)
    assert node.pos == pytest.approx((expected.x(), expected.y()))
    item = view.graph_scene.nodes["conv2d_1"]
    assert item.pos() == QPointF(*node.pos) and item.isSelected()
    assert view.editor.selection == ["conv2d_1"]


def test_drop_of_other_data_is_ignored(view):
    mime = QMimeData()
    mime.setText("conv2d")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, LEFT,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(view.viewport(), enter)
    assert not enter.isAccepted()


def test_drop_of_unknown_op_reports(view):
    messages = []
    view.status_message.connect(messages.append)
    send_drop(view, "conv9d", QPoint(100, 100))
    assert "conv9d" in messages[-1] and len(view.editor.doc.nodes) == 4


# -- moving, selecting, deleting -------------------------------------------------
def test_mouse_drag_moves_node_in_one_undo_step(qtbot, view):
    item = view.graph_scene.nodes["r"]
    start = item.mapToScene(QPointF(0, 0))
    drag(qtbot, view, start, start + QPointF(80, 60), steps=6)
    moved = view.editor.doc.nodes["r"].pos
    assert moved != (550.0, 0.0)
    assert item.pos() == QPointF(*moved)
    assert view.editor.undo_stack.count() == 1
    view.editor.undo()
    assert view.editor.doc.nodes["r"].pos == (550.0, 0.0)
    assert item.pos() == QPointF(550.0, 0.0)


def test_moving_a_node_drags_its_wires(qtbot, view):
    view.editor.connect("s", "r", 0)
    wire_item = view.graph_scene.wires[("r", 0)]
    item = view.graph_scene.nodes["r"]
    view.editor.move_nodes({"r": (600.0, 120.0)})
    assert wire_item.path().currentPosition() == item.in_port_pos(0)


def test_click_selects_and_rubber_band_selects_many(qtbot, view):
    item = view.graph_scene.nodes["s"]
    qtbot.mouseClick(view.viewport(), LEFT, pos=at(view, item.mapToScene(QPointF(0, 10))))
    assert view.editor.selection == ["s"]
    view.editor.connect("a", "r", 0)  # a wire right through the band
    drag(qtbot, view, QPointF(-150, -200), QPointF(150, 200))
    assert view.editor.selection == ["a", "b"]
    assert view.graph_scene.selected_wires() == []
    wire_item = view.graph_scene.wires[("r", 0)]
    qtbot.mouseClick(view.viewport(), LEFT, pos=at(view, wire_item.path().pointAtPercent(0.3)))
    assert view.graph_scene.selected_wires() == [("r", 0)] and view.editor.selection == []


def test_delete_key_removes_selection_and_undo_restores(qtbot, view):
    view.editor.connect("a", "s", 0)
    view.editor.connect("s", "r", 0)
    before = dumps_graph(view.editor.doc)
    view.editor.set_selection(["s"])
    assert view.graph_scene.nodes["s"].isSelected()
    view.setFocus()
    qtbot.keyClick(view.viewport(), Qt.Key.Key_Delete)
    assert "s" not in view.editor.doc.nodes and "s" not in view.graph_scene.nodes
    assert view.editor.doc.nodes["r"].inputs == []
    view.editor.undo()
    assert dumps_graph(view.editor.doc) == before
    assert set(view.graph_scene.wires) == {("s", 0), ("r", 0)}


def test_selected_wire_is_cut_by_delete(qtbot, view):
    view.editor.connect("s", "r", 0)
    view.graph_scene.wires[("r", 0)].setSelected(True)
    view.delete_selection()
    assert view.editor.doc.nodes["r"].inputs == [] and not view.graph_scene.wires


# -- incremental updates -------------------------------------------------------------
def test_scene_updates_in_place(view):
    view.editor.connect("a", "s", 0)
    view.editor.connect("a", "r", 0)
    items = dict(view.graph_scene.nodes)
    wires = dict(view.graph_scene.wires)
    view.editor.add_node("conv2d", (800, 0))
    view.editor.connect("r", "conv2d_1", 0)
    view.editor.set_params("conv2d_1", {"out_channels": 16, "kernel": 3, "dilation": 2})
    view.editor.move_nodes({"a": (-50.0, -120.0)})
    scene = view.graph_scene
    assert all(scene.nodes[node_id] is item for node_id, item in items.items())
    assert all(scene.wires[key] is item for key, item in wires.items())
    assert scene.nodes["conv2d_1"].title == "conv2d 16 3×3 d2"
    assert scene.nodes["conv2d_1"].info_text() == "592 params"
    assert scene.wires[("conv2d_1", 0)].label == "4×8×8"


def test_rename_keeps_item(view):
    view.editor.connect("s", "r", 0)
    item = view.graph_scene.nodes["s"]
    view.editor.rename("s", "sum")
    assert view.graph_scene.nodes["sum"] is item and item.node_id == "sum"
    assert view.graph_scene.wires[("r", 0)].src is item


def test_frozen_node_is_greyed(view):
    view.editor.set_trainable("s", False)
    item = view.graph_scene.nodes["s"]
    assert not item.trainable and "frozen" in item.toolTip()


def test_new_document_rebuilds(view):
    old = view.graph_scene.nodes["a"]
    view.editor.set_document(load_graph(EXAMPLES / "tiny_cnn.json"))
    scene = view.graph_scene
    assert set(scene.nodes) == set(view.editor.doc.nodes) and old not in scene.items()
    assert len(scene.wires) == 6
    # positions missing from the file come from the layered layout, left to right
    xs = [scene.nodes[node_id].pos().x() for node_id in view.editor.doc.nodes]
    assert xs == sorted(xs)
    assert all(node.pos is None for node in view.editor.doc.nodes.values())


# -- zoom and pan ------------------------------------------------------------------
def test_zoom_to_fit_shows_every_node(view):
    view.editor.move_nodes({"r": (900.0, 300.0)})
    view.zoom_to_fit()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.graph_scene.nodes.values():
        assert visible.contains(item.sceneBoundingRect())
    assert 0.7 <= view.zoom_level() < 1.0


def test_zoom_to_fit_shrinks_as_far_as_needed(view):
    view.editor.move_nodes({"r": (3000.0, 1500.0)})
    view.zoom_to_fit()
    assert 0.15 <= view.zoom_level() < 0.7
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    for item in view.graph_scene.nodes.values():
        assert visible.contains(item.sceneBoundingRect())


def test_a_readable_fit_starts_a_big_graph_top_left(view):
    view.editor.move_nodes({"r": (3000.0, 1500.0)})
    view.zoom_to_fit(0.7)
    assert view.zoom_level() == pytest.approx(0.7)
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(view.graph_scene.nodes["a"].sceneBoundingRect())
    assert not visible.contains(view.graph_scene.nodes["r"].sceneBoundingRect())


def test_wheel_and_keys_zoom(qtbot, view):
    view.zoom_in()
    assert view.zoom_level() == pytest.approx(1.15)
    view.zoom_out()
    view.zoom_out()
    assert view.zoom_level() == pytest.approx(1 / 1.15)
    view.zoom(1000)
    assert view.zoom_level() == pytest.approx(5.0)


def test_middle_drag_pans(qtbot, view):
    bar = view.horizontalScrollBar()
    before = bar.value()
    port = view.viewport()
    qtbot.mousePress(port, Qt.MouseButton.MiddleButton, pos=QPoint(500, 300))
    qtbot.mouseMove(port, QPoint(400, 300))
    qtbot.mouseRelease(port, Qt.MouseButton.MiddleButton, pos=QPoint(400, 300))
    assert bar.value() == before + 100


def test_space_drag_pans_even_over_a_node(qtbot, view):
    bar = view.verticalScrollBar()
    before = bar.value()
    start = at(view, view.graph_scene.nodes["s"].mapToScene(QPointF(0, 10)))
    port = view.viewport()
    qtbot.keyPress(view, Qt.Key.Key_Space)
    qtbot.mousePress(port, LEFT, pos=start)
    qtbot.mouseMove(port, start + QPoint(0, -40))
    qtbot.mouseRelease(port, LEFT, pos=start + QPoint(0, -40))
    qtbot.keyRelease(view, Qt.Key.Key_Space)
    assert bar.value() == before + 40
    assert view.editor.undo_stack.count() == 0  # the node stayed put


# -- the look ----------------------------------------------------------------------
def render(view: GraphView) -> QImage:
    scene = view.graph_scene
    rect = scene.itemsBoundingRect().adjusted(-20, -20, 20, 20)
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    scene.render(painter, image.rect().toRectF(), rect)
    painter.end()
    return image


@pytest.mark.parametrize("name", ["tiny_cnn", "resnet_blocks", "densenet_block"])
def test_examples_render_without_errors(view, name):
    view.editor.set_document(load_graph(EXAMPLES / f"{name}.json"))
    assert not any(item.has_error for item in view.graph_scene.nodes.values())
    image = render(view)
    assert image.width() > 200 and image.height() > 50
    assert FONT_POINTS >= 11


# -- routing -----------------------------------------------------------------------
def test_skip_wires_go_around_the_nodes_they_skip(view):
    view.editor.set_document(load_graph(ROOT / "tests" / "data" / "residual_concat_cnn.json"))
    scene = view.graph_scene
    skips = [scene.wires[key] for key in [("skip", 1), ("cat", 1), ("cat", 2)]]
    assert all(wire.lane is not None for wire in skips)
    assert len({wire.lane for wire in skips}) == 3  # nested skips get their own lanes
    assert scene.wires[("c1", 0)].lane is None  # neighbours: a plain curve
    for wire in skips:
        path = wire.path()
        points = [path.pointAtPercent(i / 50) for i in range(3, 48)]
        others = [item for item in scene.nodes.values() if item not in (wire.src, wire.dst)]
        for item in others:
            rect = item.sceneBoundingRect()
            assert not any(rect.contains(p) for p in points), (wire.key, item.node_id)


def test_moving_a_node_into_a_wire_reroutes_it(qtbot, view):
    view.editor.connect("a", "s", 0)
    view.editor.connect("s", "r", 0)
    view.editor.move_nodes({"b": (150.0, -80.0)})  # right in the way of a → s
    qtbot.waitUntil(lambda: view.graph_scene.wires[("s", 0)].lane is not None)
    view.editor.undo()
    qtbot.waitUntil(lambda: view.graph_scene.wires[("s", 0)].lane is None)


def test_plan_shares_lanes_between_wires_that_do_not_overlap():
    from bpviz.scene.routing import WireSpec, plan

    node = (100.0, -20.0, 200.0, 20.0)
    far = (600.0, -20.0, 700.0, 20.0)
    specs = [WireSpec("a", (0, 0), (300, 0), [node]), WireSpec("b", (-50, 0), (350, 0), [node]),
             WireSpec("c", (500, 0), (800, 0), [far])]
    lanes = plan(specs)
    assert lanes["a"] < node[1] and lanes["b"] < lanes["a"]  # nested: b further out
    assert lanes["c"] == lanes["a"]  # no overlap: the same lane
    assert plan([WireSpec("d", (0, 0), (300, 0), [(100, 50, 200, 90)])]) == {"d": None}


def test_copy_of_nodes_without_pos_keeps_the_drawn_layout(view):
    view.editor.set_document(load_graph(EXAMPLES / "tiny_cnn.json"))
    scene = view.graph_scene
    drawn = {node_id: (item.pos().x(), item.pos().y()) for node_id, item in scene.nodes.items()}
    new_ids = view.editor.paste(view.editor.copy(["c1", "r1"]), (0.0, 200.0))
    for old, new in zip(["c1", "r1"], new_ids):
        assert view.editor.doc.nodes[new].pos == (drawn[old][0], drawn[old][1] + 200.0)
        assert scene.nodes[new].isSelected()
