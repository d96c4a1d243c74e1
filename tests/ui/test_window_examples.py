"""Bundled examples open as templates: never overwritten, saved as the user's own files.

The examples folder is pointed at a copy in tmp_path, so whatever goes wrong
the shipped files cannot change.
"""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import examples as bundled  # noqa: E402
from bpviz.ui import menus, templates  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


@pytest.fixture
def examples(tmp_path, monkeypatch):
    """A copy of the bundled examples, which bpviz takes for its own."""
    copy = tmp_path / "package" / "examples"
    shutil.copytree(EXAMPLES, copy)
    monkeypatch.setattr(bundled, "EXAMPLES", copy)
    return copy


@pytest.fixture
def mine(tmp_path):
    """The user's own folder, known from a file opened there before."""
    folder = tmp_path / "mine"
    folder.mkdir()
    menus.add_recent(str(folder / "earlier.json"))
    return folder


def open_example(qtbot, examples, name: str):
    window, answers = make_window(qtbot, path=None)
    assert window.open_file(str(examples / f"{name}.json"))
    return window, answers


def fingerprint(path):
    return path.read_bytes(), path.stat().st_mtime_ns


def test_an_example_is_titled_as_one_and_save_asks_for_a_new_file(qtbot, examples, mine):
    window, answers = open_example(qtbot, examples, "tiny_cnn")
    original = examples / "tiny_cnn.json"
    before = fingerprint(original)
    assert "tiny_cnn (example)" in window.windowTitle()
    assert window.suggested_save_path() == str(mine / "tiny_cnn.json")
    window.editor.set_params("fc", {"units": 7})
    asked = []
    window.ask_save_path = lambda: asked.append(1) or answers.save_path
    window.actions_["save"].trigger()  # cancelled in the file dialog
    assert asked == [1] and window.isWindowModified()
    answers.save_path = str(mine / "tiny_cnn.json")
    window.actions_["save"].trigger()
    assert asked == [1, 1] and not window.isWindowModified()
    assert (mine / "tiny_cnn.json").is_file() and fingerprint(original) == before
    assert "(example)" not in window.windowTitle()
    window.editor.set_params("fc", {"units": 9})
    window.actions_["save"].trigger()  # the user's file now: saved in place
    assert asked == [1, 1] and fingerprint(original) == before


def test_saving_the_changes_to_an_example_on_close_asks_for_a_file(qtbot, examples, mine):
    window, answers = open_example(qtbot, examples, "tiny_cnn")
    before = fingerprint(examples / "tiny_cnn.json")
    window.editor.set_params("fc", {"units": 7})
    assert "example “tiny_cnn”" in window.save_changes_question()
    answers.save_changes = "save"
    answers.save_path = None  # the file dialog cancelled: the window stays
    assert not window.close()
    answers.save_path = str(mine / "copy.json")
    assert window.close()
    assert (mine / "copy.json").is_file()
    assert fingerprint(examples / "tiny_cnn.json") == before


def test_weights_and_exports_of_an_example_are_offered_in_the_users_folder(qtbot, examples,
                                                                          mine):
    window, _ = open_example(qtbot, examples, "transfer_digits")
    assert window.weights._suggestion() == str(mine / "transfer_digits.npz")
    window.files.run_export_dialog = lambda d: None
    export = window.files.export_dialog()
    export.set_kind("png")
    assert export.suggested_path() == str(mine / "transfer_digits.png")


def test_without_a_folder_of_the_users_saves_go_home(qtbot, examples, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home" / "Documents").mkdir(parents=True)
    window, _ = open_example(qtbot, examples, "tiny_cnn")
    assert templates.user_folder() == str(tmp_path / "home" / "Documents")
    assert window.suggested_save_path() == str(tmp_path / "home" / "Documents" / "tiny_cnn.json")


def test_an_example_opens_with_the_weights_shipped_beside_it(qtbot, examples, mine):
    window, _ = open_example(qtbot, examples, "transfer_digits")
    held = window.weights.current
    assert held is not None and held.kind == "file"
    assert held.path == str(examples / "transfer_digits.npz")
    message = window.statusBar().currentMessage()
    assert "with its weights (transfer_digits.npz)" in message
    assert "digits does not fit it" in message and "description" in message
    window.actions_["initial_weights"].trigger()
    assert window.weights.current is None and "initial weights" in \
        window.statusBar().currentMessage()


def test_an_example_without_weights_keeps_the_seeds(qtbot, examples, mine):
    window, _ = open_example(qtbot, examples, "tiny_cnn")
    assert window.weights.current is None
    message = window.statusBar().currentMessage()
    assert "opened the example tiny_cnn" in message and "not fit" not in message


def test_a_folder_that_cannot_be_written_gives_a_message(qtbot, examples, mine, monkeypatch):
    from bpviz.ui import graph_files

    def refuse(doc, path):
        raise PermissionError(13, "Permission denied", str(path))

    window, answers = open_example(qtbot, examples, "tiny_cnn")
    monkeypatch.setattr(graph_files, "save_graph", refuse)
    answers.save_path = str(examples / "tiny_cnn.json")  # chosen on purpose
    assert not window.save()
    assert answers.errors and "Permission denied" in answers.errors[0][1]
    assert window.isVisible()


def test_a_graph_elsewhere_is_no_example(tmp_path, examples):
    shutil.copy(examples / "tiny_cnn.json", tmp_path / "tiny_cnn.json")
    assert templates.is_example(examples / "tiny_cnn.json")
    assert not templates.is_example(tmp_path / "tiny_cnn.json")
    assert not templates.is_example(None)
    assert templates.example_weights(tmp_path / "tiny_cnn.json") is None
