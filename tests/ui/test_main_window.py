"""The main window driven through its real widgets: files, menus, dialogs, status, modes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QCursor, QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.graph import dumps_graph, load_graph  # noqa: E402
from bpviz.scene.theme import current_theme  # noqa: E402
from bpviz.ui import menus  # noqa: E402
from bpviz.ui.main_window import about_text  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, TWO_LAYER, make_window  # noqa: E402


@pytest.fixture
def window(qtbot):
    return make_window(qtbot)


def drop_op(view, data: QMimeData, at: QPoint) -> QDropEvent:
    """Deliver the drag-enter, drag-move and drop a real drag would send."""
    actions = Qt.DropAction.CopyAction
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(at, actions, data, buttons, mods)
    QApplication.sendEvent(view.viewport(), enter)
    assert enter.isAccepted()
    QApplication.sendEvent(view.viewport(), QDragMoveEvent(at, actions, data, buttons, mods))
    drop = QDropEvent(QPointF(at), actions, data, buttons, mods)
    QApplication.sendEvent(view.viewport(), drop)
    return drop


def test_title_and_status_show_the_graph(window):
    win, _ = window
    assert win.windowTitle().replace("[*]", "") == \
        "two-layer binary classifier — two_layer_classifier (example) — bpviz"
    assert not win.isWindowModified()
    assert win.graph_status.text() == "6 nodes · 17 parameters"
    win.editor.set_params("hidden", {"units": 5})
    assert win.isWindowModified()
    assert win.graph_status.text() == "6 nodes · 21 parameters"


def test_first_error_shows_in_red_in_the_status_bar(window):
    win, _ = window
    win.editor.disconnect("hidden", 0)
    text = win.graph_status.text()
    assert "needs exactly 1 input" in text
    assert current_theme().error in win.graph_status.styleSheet()


def test_dragging_a_palette_entry_onto_the_canvas_adds_the_node(window):
    win, _ = window
    data = win.palette.mime_data("relu")
    assert data.hasFormat("application/x-bpviz-op")
    at = win.view.viewport().rect().center() + QPoint(30, 40)
    drop = drop_op(win.view, data, at)
    assert drop.isAccepted()
    assert "relu_1" in win.editor.doc.nodes
    expected = win.view.mapToScene(at)
    assert win.editor.doc.nodes["relu_1"].pos == (expected.x(), expected.y())
    assert win.editor.selection == ["relu_1"]
    assert win.inspector.node_id == "relu_1"


def test_a_foreign_drag_is_refused(window):
    win, _ = window
    data = QMimeData()
    data.setText("relu")
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, data,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(win.view.viewport(), enter)
    assert not enter.isAccepted()


def test_double_clicking_a_palette_entry_adds_it_at_the_view_centre(window, qtbot):
    win, _ = window
    win.new_graph()  # nothing at the centre (a node there would send it to a free place)
    tree = win.palette.tree
    rect = tree.visualItemRect(win.palette.items["tanh"])
    # A real double click: press and release, then the double-click press.
    qtbot.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert win.editor.doc.nodes["tanh_1"].op == "tanh"
    centre = win.view.mapToScene(win.view.viewport().rect().center())
    assert win.editor.doc.nodes["tanh_1"].pos == (centre.x(), centre.y())


def test_save_then_reopen_gives_the_same_document(window, tmp_path):
    win, answers = window
    win.editor.set_params("hidden", {"units": 3})
    win.editor.move_nodes({"x": (12.5, -40.0)})
    answers.save_path = str(tmp_path / "copy.json")
    win.actions_["save_as"].trigger()
    assert not win.isWindowModified() and "copy.json" in win.windowTitle()
    text = dumps_graph(win.editor.doc)
    assert dumps_graph(load_graph(tmp_path / "copy.json")) == text
    win.actions_["new"].trigger()
    assert win.editor.doc.nodes == {}
    assert win.open_path(str(tmp_path / "copy.json"))
    assert dumps_graph(win.editor.doc) == text
    assert menus.recent_files()[0] == str((tmp_path / "copy.json").resolve())


@pytest.mark.parametrize("content, message", [
    (b"{not json", "not valid JSON"),
    (b'{"format": "something-else", "version": 1, "nodes": []}', "not a bpviz graph file"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\xff", "not UTF-8"),
])
def test_a_broken_file_leaves_the_open_graph_alone(window, tmp_path, content, message):
    win, answers = window
    win.editor.set_params("hidden", {"units": 3})
    before, path = dumps_graph(win.editor.doc), win.editor.path
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    assert not win.open_path(str(bad))
    assert len(answers.errors) == 1 and message in answers.errors[0][1]
    assert dumps_graph(win.editor.doc) == before and win.editor.path == path
    assert win.isWindowModified()


def test_closing_with_changes_asks_and_cancel_keeps_the_window(window):
    win, answers = window
    win.editor.set_params("hidden", {"units": 3})
    answers.save_changes = "cancel"
    assert not win.close()
    assert answers.questions == ["save_changes"] and win.isVisible()
    answers.save_changes = "discard"
    assert win.close()


def test_closing_and_choosing_save_writes_the_file(window, tmp_path):
    win, answers = window
    path = tmp_path / "g.json"
    win.save_to(str(path))
    win.editor.set_params("hidden", {"units": 3})
    answers.save_changes = "save"
    assert win.close()
    assert load_graph(path).nodes["hidden"].params == {"units": 3}


def test_new_and_open_ask_only_when_modified(window):
    win, answers = window
    win.actions_["new"].trigger()
    assert answers.questions == []
    win.add_at_centre("relu")
    answers.save_changes = "cancel"
    win.actions_["open"].trigger()
    assert answers.questions == ["save_changes"] and "relu_1" in win.editor.doc.nodes


def test_examples_menu_lists_every_example_by_name(window):
    win, _ = window
    titles = {act.text(): act.toolTip() for act in win.examples_menu.actions()}
    assert len(titles) == len(list(EXAMPLES.glob("*.json")))
    assert "two_layer_classifier — two-layer binary classifier" in titles
    tiny = load_graph(TINY_CNN)
    assert titles[f"tiny_cnn — {tiny.name}"] == (tiny.description or TINY_CNN.name)


def test_recent_files_keep_the_latest_eight(tmp_path):
    for index in range(10):
        menus.add_recent(str(tmp_path / f"g{index}.json"))
    menus.add_recent(str(tmp_path / "g3.json"))
    recent = menus.recent_files()
    assert len(recent) == 8 and recent[0].endswith("g3.json")
    assert recent.count(str((tmp_path / "g3.json").resolve())) == 1


def test_edit_menu_copy_paste_delete_select_all_and_undo(window):
    win, _ = window
    win.editor.set_selection(["hidden"])
    win.actions_["copy"].trigger()
    win.actions_["paste"].trigger()
    assert win.editor.doc.nodes["dense_1"].params == {"units": 4}
    win.actions_["select_all"].trigger()
    assert len(win.editor.selection) == 7
    win.actions_["delete"].trigger()
    assert win.editor.doc.nodes == {}
    win.actions_["undo"].trigger()
    assert len(win.editor.doc.nodes) == 7
    win.actions_["redo"].trigger()
    assert win.editor.doc.nodes == {}


def node_rect(win, node_id):
    item = win.view.graph_scene.nodes[node_id]
    return item.mapRectToScene(item.rect())


def test_each_paste_says_so_and_lands_clear_of_the_last(window):
    win, _ = window
    QCursor.setPos(win.mapToGlobal(QPoint(-50, -50)))  # not over the canvas
    win.editor.set_selection(["hidden"])
    win.actions_["copy"].trigger()
    assert win.statusBar().currentMessage() == "copied 1 node"
    win.actions_["paste"].trigger()
    assert win.statusBar().currentMessage() == "pasted 1 node"
    win.actions_["paste"].trigger()
    rects = [node_rect(win, node_id) for node_id in ("hidden", "dense_1", "dense_2")]
    assert not rects[0].intersects(rects[1]) and not rects[1].intersects(rects[2])
    assert rects[0].top() < rects[1].top() < rects[2].top()


def test_a_paste_lands_under_the_mouse_on_the_canvas(window, qtbot):
    win, _ = window
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    win.editor.set_selection(["hidden"])
    win.actions_["copy"].trigger()
    spot = win.view.viewport().rect().center() + QPoint(120, 60)
    QCursor.setPos(win.view.viewport().mapToGlobal(spot))
    win.actions_["paste"].trigger()
    centre = win.view.mapFromScene(node_rect(win, "dense_1").center())
    assert (centre - spot).manhattanLength() <= 2


def test_pasting_foreign_text_changes_nothing(window):
    win, _ = window
    QApplication.clipboard().setText("hello")
    before = dumps_graph(win.editor.doc)
    win.actions_["paste"].trigger()
    assert dumps_graph(win.editor.doc) == before
    assert "no bpviz nodes" in win.statusBar().currentMessage()


def test_copy_then_quit_exits_cleanly(tmp_path):
    code = textwrap.dedent(f"""
        import os
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from bpviz.ui.app import application
        app = application()
        from bpviz.ui.main_window import MainWindow
        window = MainWindow(autosave=False, remember_layout=False)
        window.open_path({str(TWO_LAYER)!r})
        window.editor.set_selection(["hidden"])
        window.copy_selection()
        window.close()
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "BPVIZ_DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr


def test_shortcuts_are_the_usual_ones(window):
    win, _ = window
    shortcuts = {name: [s.toString() for s in act.shortcuts()]
                 for name, act in win.actions_.items()}
    assert shortcuts["new"] == ["Ctrl+N"] and shortcuts["open"] == ["Ctrl+O"]
    assert shortcuts["save"] == ["Ctrl+S"] and shortcuts["save_as"] == ["Ctrl+Shift+S"]
    assert shortcuts["quit"] == ["Ctrl+Q"] and shortcuts["undo"] == ["Ctrl+Z"]
    assert shortcuts["redo"] == ["Ctrl+Shift+Z", "Ctrl+Y"]
    assert shortcuts["arrange"] == ["Ctrl+L"] and shortcuts["zoom_fit"] == ["Ctrl+0"]
    assert shortcuts["presentation"] == ["F11"] and shortcuts["select_all"] == ["Ctrl+A"]


def test_presentation_mode_hides_chrome_and_enlarges_fonts(window):
    win, _ = window
    size = QApplication.font().pointSizeF()
    win.actions_["presentation"].trigger()
    assert win.menuBar().isHidden() and win.statusBar().isHidden()
    assert win.docks[0].isHidden() and win.docks[1].isHidden()
    assert QApplication.font().pointSizeF() > size
    win.actions_["leave_presentation"].trigger()
    assert not win.menuBar().isHidden() and QApplication.font().pointSizeF() == size
    assert not win.docks[0].isHidden() and not win.docks[1].isHidden()


def test_theme_switch_is_kept_in_settings(window):
    from bpviz.scene.theme import DARK, current_theme, theme_manager
    from bpviz.ui.app import settings
    from bpviz.ui.appearance import set_theme

    win, _ = window
    seen = []
    theme_manager().changed.connect(seen.append)
    try:
        win.actions_["theme_dark"].trigger()
        assert current_theme() is DARK and seen == [DARK]
        assert settings().value("view/theme") == "dark"
        assert QApplication.palette().window().color().name() == DARK.window
    finally:
        theme_manager().changed.disconnect(seen.append)
        set_theme("light")


def test_about_names_the_versions():
    import numpy
    import PySide6

    text = about_text()
    assert "bpviz" in text and PySide6.__version__ in text and numpy.__version__ in text
    assert "Python 3." in text and "Qt 6." in text


def test_open_from_the_dialog(window):
    win, answers = window
    answers.open_path = str(TINY_CNN)
    win.actions_["open"].trigger()
    assert win.editor.path == str(TINY_CNN) and "c1" in win.editor.doc.nodes
    answers.open_path = None
    win.actions_["open"].trigger()
    assert win.editor.path == str(TINY_CNN)
    assert TWO_LAYER.name in " ".join(menus.recent_files())


def test_the_save_question_names_the_file_or_else_the_graph(window, tmp_path):
    win, _ = window
    assert win.save_changes_question() == ("Save the changes to the example "
                                           "“two_layer_classifier” as a file of your own?")
    assert win.save_to(str(tmp_path / "mine.json"))
    assert win.save_changes_question() == "Save the changes to “mine.json”?"
    win.new_graph()
    assert win.save_changes_question() == "Save the changes to “untitled”?"


def test_a_new_graph_is_offered_its_name_in_the_last_folder(window, tmp_path):
    win, answers = window
    answers.save_path = str(tmp_path / "saved" / "first.json")
    (tmp_path / "saved").mkdir()
    win.new_graph()
    win.editor.set_name("first")
    assert win.save()
    win.new_graph()
    win.editor.set_name("my CNN: 8×8 / v2")
    assert win.suggested_save_path() == str(tmp_path / "saved" / "my CNN_ 8×8 _ v2.json")
    win.new_graph()
    assert win.suggested_save_path() == str(tmp_path / "saved" / "untitled.json")
