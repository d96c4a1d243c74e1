"""New nodes land in sight and on top of no other node: palette adds and pastes."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, QRectF  # noqa: E402
from PySide6.QtGui import QCursor  # noqa: E402

from bpviz.ui.canvas import placement  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


def box(window, node_id):
    item = window.view.graph_scene.nodes[node_id]
    return item.mapRectToScene(item.rect())


def assert_in_sight_and_apart(window, new_ids):
    seen = window.view.visible_scene_rect()
    for node_id in new_ids:
        assert seen.contains(box(window, node_id)), node_id
        for other in window.editor.doc.nodes:
            if other != node_id:
                assert not box(window, node_id).intersects(box(window, other)), (node_id, other)


def test_palette_adds_never_stack_nodes(qtbot):
    window, _ = make_window(qtbot, TINY_CNN)
    window.resize(1600, 1000)
    settle()
    for _ in range(3):
        window.palette.op_activated.emit("relu")  # a double click in the palette
    new_ids = [node_id for node_id in window.editor.doc.nodes if node_id.startswith("relu")]
    assert len(new_ids) == 3
    assert_in_sight_and_apart(window, new_ids)


def test_undoing_a_delete_puts_a_laid_out_node_back_in_its_place(qtbot):
    window, _ = make_window(qtbot, TINY_CNN)
    settle()
    assert window.editor.doc.nodes["r1"].pos is None  # placed by the layout, not the file
    before = box(window, "r1")
    window.editor.remove_nodes(["r1"])
    settle()
    window.editor.undo_stack.undo()
    settle()
    assert box(window, "r1") == before


def test_a_paste_away_from_the_canvas_lands_in_sight(qtbot):
    window, _ = make_window(qtbot, TINY_CNN)
    window.resize(1200, 800)
    settle()
    view = window.view
    view.reset_zoom()
    window.editor.set_selection(["c1", "r1"])
    window.copy_selection()
    view.centerOn(box(window, "fc").center() + QPointF(900, 600))  # copied nodes out of sight
    QCursor.setPos(window.mapToGlobal(QPoint(-50, -50)))  # not over the canvas
    before, seen = set(window.editor.doc.nodes), view.visible_scene_rect()
    window.paste()
    window.paste()
    new_ids = [node_id for node_id in window.editor.doc.nodes if node_id not in before]
    assert len(new_ids) == 4
    assert view.visible_scene_rect() == seen  # landed where the user looks: no scroll
    assert_in_sight_and_apart(window, new_ids)


def test_free_spot_steps_aside_from_a_taken_place():
    taken = [QRectF(-80, -45, 160, 90)]
    seen = QRectF(-1000, -1000, 2000, 2000)
    spot = placement.free_spot(QPointF(0, 0), [placement.NEW_NODE], taken, seen)
    assert spot != QPointF(0, 0)
    assert placement.clear_of([placement.NEW_NODE], spot, taken)
    assert spot.y() > 0  # below comes first


def test_the_editor_adds_a_node_exactly_where_asked_with_a_canvas_attached(qtbot):
    """Placing is the canvas's: an edit from elsewhere (a script, the inspector) at
    a taken place is not moved by the widget that draws the graph."""
    window, _ = make_window(qtbot, TINY_CNN)
    settle()
    taken = box(window, "c1").center()
    node_id = window.editor.add_node("relu", (taken.x(), taken.y()))
    assert window.editor.doc.nodes[node_id].pos == (taken.x(), taken.y())
    window.view.centerOn(taken)
    in_sight = window.view.add_in_sight("relu")
    assert_in_sight_and_apart(window, [in_sight])
