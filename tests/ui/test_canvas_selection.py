"""The canvas's selection across a replaced document and at quit."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QCoreApplication, QEvent  # noqa: E402

from bpviz.graph import load_graph  # noqa: E402
from bpviz.ui.canvas.view import GraphView  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


def test_a_document_with_the_same_ids_replaces_a_selected_one_cleanly(qtbot):
    editor = GraphEditor(load_graph(TINY_CNN))
    view = GraphView(editor)
    qtbot.addWidget(view)
    editor.set_selection(["c1", "r1"])
    told = []
    editor.selection_changed.connect(told.append)
    editor.set_document(load_graph(TINY_CNN))  # e.g. the same model imported again
    assert all(ids == [] for ids in told) and editor.selection == []
    scene = view.graph_scene
    assert scene.selectedItems() == []
    editor.set_selection(["r1"])
    assert scene.selected_node_ids() == ["r1"]


def test_quitting_with_nodes_selected_raises_nothing(qtbot):
    window, answers = make_window(qtbot, TINY_CNN)
    window.editor.set_selection(["c1", "r1"])
    answers.save_changes = "discard"
    assert window.close()
    settle()  # what closing set off has run


def test_a_canvas_gone_before_its_editor_leaves_no_listener_behind(qtbot):
    editor = GraphEditor(load_graph(TINY_CNN))
    view = GraphView(editor)
    editor.set_selection(["c1", "r1"])
    view.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    editor.set_selection(["x"])
    editor.set_document(load_graph(TINY_CNN))
    editor.set_selection(["r1"])
