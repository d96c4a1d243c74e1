"""File › Export…, Import from PyTorch… and Export to PyTorch… in the real main window."""

from __future__ import annotations

import gc

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("torch")

from PySide6.QtCore import Qt  # noqa: E402

from bpviz.graph.weights import network_tensors  # noqa: E402
from bpviz.ui.import_dialog import ImportRequest, TorchImportDialog, factories, parse_shape  # noqa: E402,E501
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402

MODEL = """\
from torch import nn


def make_model():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * 8 * 8, 10))


class NotAModel:
    pass
"""
SHAPE = (1, 8, 8)



@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "models.py"
    path.write_text(MODEL, "utf-8")
    return path


@pytest.fixture
def window(qtbot):
    win, answers = make_window(qtbot, TINY_CNN)
    win.answers = answers
    win.stepping.presenter.pulses.enabled = False
    yield win
    win.training_dock.widget().shut_down()


def wait_for_torch(qtbot, window) -> None:
    qtbot.waitUntil(lambda: window.files.job is None, timeout=60_000)


def import_model(qtbot, window, path, factory="make_model") -> None:
    window.files.ask_torch_import = lambda: ImportRequest(str(path), factory, SHAPE)
    window.actions_["import_torch"].trigger()
    wait_for_torch(qtbot, window)


# -- Export… -----------------------------------------------------------------------
def enabled_kinds(dialog) -> list[str]:
    """The kinds that can be chosen (the others are listed greyed)."""
    return [dialog.kind.itemData(i) for i in range(dialog.kind.count())
            if dialog.kind.model().item(i).isEnabled()]


def test_ctrl_e_opens_the_export_dialog_with_the_pass(qtbot, window):
    shown = []
    window.files.run_export_dialog = shown.append
    assert window.actions_["export"].shortcut().toString() == "Ctrl+E"
    assert window.stepping.build_now() is None
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert len(shown) == 1
    dialog = shown[0]
    assert dialog.document is window.editor.doc
    assert dialog.session is window.stepping.session and dialog.metrics is None
    kinds = enabled_kinds(dialog)
    assert "gif" in kinds and "npz" in kinds and "curves_png" not in kinds
    dialog.close()


def test_the_window_pass_is_exported_in_a_process(qtbot, window, tmp_path):
    from bpviz.export.tensors import collect_tensors

    def export_while_shown(dialog):  # as exec() would: the dialog is deleted after it
        dialog.set_kind("npz")
        with qtbot.waitSignal(dialog.export_finished, timeout=60_000) as outcome:
            assert dialog.export_to(tmp_path / "pass.npz")
        assert outcome.args == [True], dialog.status.text()

    assert window.stepping.build_now() is None
    window.files.run_export_dialog = export_while_shown
    window.actions_["export"].trigger()
    assert window.statusBar().currentMessage() == f"exported {tmp_path / 'pass.npz'}"
    expected = collect_tensors(window.stepping.session)
    with np.load(tmp_path / "pass.npz") as tensors:  # the very pass the window shows
        assert sorted(tensors.files) == sorted(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(tensors[key], value)


def test_without_a_pass_the_dialog_offers_the_graph_only(window):
    shown = []
    window.files.run_export_dialog = shown.append
    window.actions_["export"].trigger()
    assert shown[0].session is None
    assert enabled_kinds(shown[0]) == ["svg", "pdf", "png", "tex"]
    assert "F10" in shown[0].hint.text()
    shown[0].close()


# -- Import from PyTorch -------------------------------------------------------------
def test_import_opens_the_model_as_a_new_unsaved_graph_with_its_weights(qtbot, window,
                                                                         model_file):
    import_model(qtbot, window, model_file)
    editor = window.editor
    assert window.answers.errors == []
    assert gc.isenabled()  # no worker thread left the collector paused
    assert [node.op for node in editor.doc.nodes.values()] == [
        "input", "conv2d", "relu", "flatten", "dense"]
    assert editor.path is None and editor.is_modified
    assert "not saved" in window.windowTitle()
    assert window.stepping.bar.weights.text().strip() == "imported weights (models.py:make_model)"
    assert window.stepping.build_now() is None  # the pass runs with torch's weights
    held = window.weights.current.tensors
    tensors = network_tensors(window.stepping.session.network)
    assert set(tensors) == set(held)
    for key, value in held.items():
        np.testing.assert_array_equal(tensors[key], value)


def test_a_bad_factory_shows_the_error_and_keeps_the_graph(qtbot, window, model_file):
    before, text = window.editor.doc, window.editor.text()
    import_model(qtbot, window, model_file, "missing")
    assert window.answers.errors == [("Cannot import from PyTorch",
                                      f"{model_file} has no 'missing'")]
    import_model(qtbot, window, model_file, "NotAModel")
    assert "not a torch nn.Module" in window.answers.errors[-1][1]
    assert window.editor.doc is before and window.editor.text() == text
    assert window.weights.current is None


def test_an_import_that_hangs_can_be_cancelled(qtbot, window, tmp_path):
    path = tmp_path / "hangs.py"
    entered = tmp_path / "make_entered"
    path.write_text(f"import pathlib\nimport time\n\n\ndef make():\n"
                    f"    pathlib.Path({str(entered)!r}).touch()\n    time.sleep(1000)\n", "utf-8")
    before, text = window.editor.doc, window.editor.text()
    window.files.ask_torch_import = lambda: ImportRequest(str(path), "make", SHAPE)
    window.actions_["import_torch"].trigger()
    job = window.files.job
    assert job.process.is_alive() and window.files.cancel.isVisible()
    assert "loading PyTorch" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage() ==
                    "importing from hangs.py: running make…", timeout=60_000)
    qtbot.waitUntil(entered.exists, timeout=60_000)  # well into the factory
    assert window.files.job is job and job.process.is_alive()
    window.files.cancel.click()
    wait_for_torch(qtbot, window)
    qtbot.waitUntil(lambda: not job.process.is_alive(), timeout=5_000)
    assert window.statusBar().currentMessage() == "import cancelled"
    assert not window.files.busy.isVisible() and not window.files.cancel.isVisible()
    assert window.editor.doc is before and window.editor.text() == text
    assert window.answers.errors == [] and window.weights.current is None


def test_import_asks_about_unsaved_changes_first(qtbot, window, model_file):
    window.editor.set_name("edited")
    window.answers.save_changes = "cancel"
    asked = []
    window.files.ask_torch_import = lambda: asked.append(True)
    window.actions_["import_torch"].trigger()
    assert window.answers.questions == ["save_changes"] and asked == []
    assert window.editor.doc.name == "edited"


# -- Export to PyTorch ---------------------------------------------------------------
def test_export_to_torch_writes_a_module_that_imports_back(qtbot, window, tmp_path):
    from bpviz.oracle.importer import import_torch

    out = tmp_path / "model.py"
    window.files.ask_torch_export_path = lambda: str(out)
    window.actions_["export_torch"].trigger()
    wait_for_torch(qtbot, window)
    assert window.answers.errors == []
    assert out.is_file() and (tmp_path / "model.npz").is_file()
    message = window.statusBar().currentMessage()
    assert message.startswith(f"wrote {out} (class ")
    assert message.endswith("and the initial weights (seed 0) in model.npz")
    cls = message.split("(class ")[1].split(")")[0]
    back = import_torch(f"{out}:{cls}", (1, 8, 8))
    ops = [node.op for node in window.editor.doc.nodes.values()][:-1]  # forward has no loss
    assert [node.op for node in back.document.nodes.values()] == ops


def test_export_to_torch_of_a_broken_graph_shows_why(qtbot, window, tmp_path):
    window.editor.set_params("c1", {"out_channels": 8, "kernel": 99})  # larger than 8×8
    window.files.ask_torch_export_path = lambda: pytest.fail("no file dialog for a broken graph")
    window.actions_["export_torch"].trigger()
    assert window.answers.errors[0][0] == "Cannot export to PyTorch"
    assert not list(tmp_path.glob("*.py"))


# -- the import dialog -----------------------------------------------------------------
def test_the_import_dialog_suggests_factories_and_checks_the_shape(qtbot, model_file):
    assert parse_shape("1 28 28") == parse_shape("1, 28, 28") == parse_shape("1×28×28") == \
        (1, 28, 28)
    assert parse_shape("64") == (64,)
    assert parse_shape("1 28") is None and parse_shape("0 8 8") is None
    assert factories(model_file) == ["make_model", "NotAModel"]
    dialog = TorchImportDialog()
    qtbot.addWidget(dialog)
    dialog.path.setText(str(model_file))
    dialog.path.editingFinished.emit()
    assert dialog.factory.currentText() == "make_model"
    assert dialog.request() is None and "input shape" in dialog.problem.text()
    dialog.shape.setText("1 8 8")
    assert dialog.request() == ImportRequest(str(model_file), "make_model", (1, 8, 8))
    assert dialog.problem.text() == ""
