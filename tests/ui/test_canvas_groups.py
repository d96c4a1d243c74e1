"""Groups on the canvas: folded into one box with its figures, unfolded in a frame, stepped into."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, Qt  # noqa: E402
from PySide6.QtWidgets import QGraphicsSceneMouseEvent  # noqa: E402

from bpviz.graph import load_graph  # noqa: E402
from bpviz.scene.group_item import GroupFrame  # noqa: E402
from bpviz.ui.canvas.view import GraphView  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES, example_session  # noqa: E402
from tests.ui.windowkit import make_window  # noqa: E402


def tiny_view(qtbot) -> GraphView:
    view = GraphView(GraphEditor(load_graph(EXAMPLES / "tiny_cnn.json")))
    qtbot.addWidget(view)
    view.resize(1000, 600)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_folding_hides_the_nodes_behind_one_box_the_wires_attach_to(qtbot):
    view = tiny_view(qtbot)
    editor, scene = view.editor, view.graph_scene
    assert editor.group_nodes(["c1", "r1", "p1"], "stage1") == "stage1"
    assert isinstance(scene.folding.frames["stage1"], GroupFrame)
    editor.set_group_folded("stage1", True)
    box = scene.folding.boxes["stage1"]
    assert not any(scene.nodes[n].isVisible() for n in ("c1", "r1", "p1"))
    assert scene.nodes["x"].isVisible() and scene.nodes["f"].isVisible()
    into, out_of, inner = scene.wires[("c1", 0)], scene.wires[("f", 0)], scene.wires[("r1", 0)]
    assert into.isVisible() and into.dst_end is box
    assert into.ends() == (scene.nodes["x"].out_port_pos(), box.in_port_pos(0))
    assert out_of.src_end is box and out_of.ends()[0] == box.out_port_pos()
    assert not inner.isVisible()
    # The box's figures: tiny_cnn's input is 1×8×8, c1 has 8 filters of 1·3·3 and 8
    # biases (80 parameters), the 2×2 pool halves the map; a 3×3 kernel then a 2×2
    # pool see 3 + (2 − 1)·1 = 4 pixels.
    assert box.lines == ["in 1×8×8", "out 8×4×4", "80 params · 3 nodes", "field 4×4"]
    editor.set_group_folded("stage1", False)
    assert "stage1" not in scene.folding.boxes
    assert all(scene.nodes[n].isVisible() for n in ("c1", "r1", "p1"))
    assert scene.wires[("r1", 0)].isVisible() and scene.wires[("c1", 0)].dst_end is None
    editor.undo()
    assert not editor.doc.groups and not scene.folding.frames


def test_folding_is_a_view_not_an_edit(qtbot):
    view = tiny_view(qtbot)
    editor = view.editor
    editor.group_nodes(["c1", "r1"], "stage1")
    steps = editor.undo_stack.count()
    editor.mark_saved()
    editor.set_group_folded("stage1", True)
    assert editor.undo_stack.count() == steps and not editor.is_modified
    # An edit after folding, undone, leaves the group folded as the user left it.
    editor.rename_group("stage1", "block")
    editor.set_group_folded("block", False)
    editor.undo()
    assert editor.doc.groups == {"stage1": editor.doc.groups["stage1"]}
    assert not editor.doc.groups["stage1"].folded
    editor.redo()
    assert not editor.doc.groups["block"].folded
    editor.set_group_folded("block", True)
    editor.ungroup("block")
    editor.undo()
    assert editor.doc.groups["block"].folded
    # Saved with the file when it is saved for other reasons.
    assert '"folded": true' in editor.text()


def test_unfolding_an_example_to_look_leaves_it_unchanged(qtbot):
    window, answers = make_window(qtbot, EXAMPLES / "resnet50.json")
    scene, view = window.view.graph_scene, window.view
    view.zoom_to_fit()
    box = scene.folding.boxes["layer1"]
    view.centerOn(box)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(box.scenePos()))
    assert "layer1" in scene.folding.frames and not window.editor.doc.groups["layer1"].folded
    window.editor.set_selection(["layer1.0.conv1"])
    view.setFocus()
    view.activateWindow()
    qtbot.waitUntil(view.hasFocus)
    qtbot.keyClick(view, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)
    assert "layer1" in scene.folding.boxes
    assert not window.isWindowModified()
    assert window.close() and answers.questions == []


def test_double_click_unfolds_and_the_frame_name_folds_again(qtbot):
    view = tiny_view(qtbot)
    editor, scene = view.editor, view.graph_scene
    editor.group_nodes(["c1", "r1"], "stage1")
    editor.set_group_folded("stage1", True)
    view.zoom_to_fit()
    box = scene.folding.boxes["stage1"]
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton,
                      pos=view.mapFromScene(box.scenePos()))
    assert not editor.doc.groups["stage1"].folded and not scene.folding.boxes
    frame = scene.folding.frames["stage1"]
    label = frame.label_rect().center()
    assert scene.items(label)[0] is frame  # the frame's name takes the click
    frame.mouseDoubleClickEvent(QGraphicsSceneMouseEvent(QEvent.Type.GraphicsSceneMouseDoubleClick))
    assert editor.doc.groups["stage1"].folded


def test_shortcuts_group_fold_and_ungroup_the_selection(qtbot):
    view = tiny_view(qtbot)
    editor = view.editor
    view.setFocus()
    view.activateWindow()
    qtbot.waitUntil(view.hasFocus)
    editor.set_selection(["c1", "r1"])
    qtbot.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    assert editor.doc.group_members("group1") == ["c1", "r1"]
    qtbot.keyClick(view, Qt.Key.Key_Period, Qt.KeyboardModifier.ControlModifier)
    assert editor.doc.groups["group1"].folded
    view.graph_scene.folding.boxes["group1"].setSelected(True)
    qtbot.keyClick(view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    assert not editor.doc.groups
    editor.group_nodes(["fc"], "head")
    editor.rename_group("head", "classifier")
    assert editor.doc.group_members("classifier") == ["fc"]


def test_stepping_into_a_folded_group_lights_its_box_and_names_the_node(qtbot):
    view = tiny_view(qtbot)
    editor, scene = view.editor, view.graph_scene
    editor.group_nodes(["c1", "r1", "p1"], "stage1")
    editor.set_group_folded("stage1", True)
    box = scene.folding.boxes["stage1"]
    session = example_session("tiny_cnn")
    seen = []
    for position in range(len(session.steps)):
        session.seek(position)
        scene.show_step(session.active_node, session.wire_gradient_norms(),
                        session.done_nodes(), session.phase)
        seen.append((session.active_node, box.step_role, box.caption()))
    forward = seen[:7]
    assert forward[1] == ("c1", "active", "stage1 · c1")
    assert forward[3] == ("p1", "active", "stage1 · p1")
    assert forward[4] == ("f", "done", "stage1")
    assert view.bring_into_view("r1") in (True, False)  # the box stands in for r1
    assert scene.folding.shown_item("r1") is box
    scene.clear_step()
    assert box.step_role is None and box.caption() == "stage1"


def test_resnet50_opens_folded_into_its_stages(qtbot):
    view = GraphView(GraphEditor(load_graph(EXAMPLES / "resnet50.json")))
    qtbot.addWidget(view)
    scene = view.graph_scene
    boxes = scene.folding.boxes
    assert sorted(boxes) == ["head", "layer1", "layer2", "layer3", "layer4", "stem"]
    assert [n for n, item in scene.nodes.items() if item.isVisible()] == ["x", "loss"]
    assert sum(box.summary.params for box in boxes.values()) == 25_557_032  # published
    assert boxes["layer4"].lines[-1] == "field 427×427"  # published
    assert boxes["layer4"].lines[:2] == ["in 1024×14×14", "out 2048×7×7"]
    xs = [boxes[name].scenePos().x() for name in ("stem", "layer1", "layer2", "layer3",
                                                  "layer4", "head")]
    assert xs == sorted(xs)  # one box per stage, left to right
    visible = [wire for wire in scene.wires.values() if wire.isVisible()]
    assert len(visible) == 7  # x → stem → layer1 → … → head → loss


def test_a_slide_export_lays_out_folded_groups_as_their_boxes(qapp):
    from bpviz.export.figure import SceneFigure

    figure = SceneFigure(load_graph(EXAMPLES / "resnet50.json"), layout="slide")
    boxes = figure.scene.folding.boxes
    rows = sorted({round(box.scenePos().y()) for box in boxes.values()})
    assert 1 < len(rows) < 6  # the seven boxes and the loss wrapped into a few rows
    loss = figure.scene.nodes["loss"]
    head = boxes["head"]
    # The loss sits beside the head's box, not where the 170 hidden nodes would put it.
    assert abs(loss.scenePos().y() - head.scenePos().y()) < 1
    assert 0 < loss.scenePos().x() - head.scenePos().x() < 600
    for name, box in boxes.items():
        first = figure.model.doc.group_members(name)[0]
        assert box.scenePos() == figure.scene.nodes[first].scenePos()


def test_the_context_menu_of_a_box_offers_unfold_rename_and_ungroup(qtbot):
    view = tiny_view(qtbot)
    editor, scene = view.editor, view.graph_scene
    editor.group_nodes(["c1", "r1"], "stage1")
    editor.set_group_folded("stage1", True)
    menu = view.groups.menu_at(scene.folding.boxes["stage1"].scenePos())
    texts = [action.text() for action in menu.actions()]
    assert texts == ["Unfold 'stage1'", "Rename 'stage1'…", "Ungroup 'stage1'"]
    menu.actions()[2].trigger()
    assert not editor.doc.groups and scene.nodes["c1"].isVisible()
    assert view.groups.menu_at(scene.nodes["x"].scenePos()) is None  # no group, no selection
