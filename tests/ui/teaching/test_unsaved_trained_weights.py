"""Quitting or opening a graph with trained weights never saved asks first:
Save Weights… writes them, Discard lets them go, Cancel keeps everything."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.graph.weights import read_npz  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TWO_LAYER, make_window  # noqa: E402

MOONS = EXAMPLES / "moons_mlp.json"
FINISH_MS = 60_000


@pytest.fixture
def trained(qtbot):
    window, answers = make_window(qtbot, MOONS)
    panel = window.training_dock.widget()
    panel.controls.epochs.setValue(1)
    window.actions_["train"].trigger()
    qtbot.waitUntil(lambda: not panel.running, timeout=FINISH_MS)
    assert window.workspace.weights.in_use.kind == "trained"
    yield window, answers
    panel.shut_down()


def test_cancel_keeps_the_graph_and_the_weights(trained):
    window, answers = trained
    answers.save_trained = "cancel"
    assert not window.open_file(str(TWO_LAYER))
    assert answers.questions == ["save_trained"]
    assert "moons" in window.windowTitle()
    assert not window.close()
    assert window.workspace.weights.unsaved_trained


def test_discard_opens_the_other_graph(trained):
    window, answers = trained
    answers.save_trained = "discard"
    assert window.open_file(str(TWO_LAYER))
    assert answers.questions == ["save_trained"]
    assert "two_layer_classifier" in window.windowTitle()


def test_save_writes_the_trained_weights_then_asks_no_more(trained, tmp_path):
    window, answers = trained
    answers.save_trained = "save"
    path = tmp_path / "trained.npz"
    window.weights.ask_save_path = lambda: str(path)
    expected = window.workspace.weights.in_use.tensors
    assert window.open_file(str(MOONS))
    saved = read_npz(str(path), "weights")
    assert set(saved) == set(expected)
    assert all((saved[key] == expected[key]).all() for key in expected)
    assert answers.questions == ["save_trained"]
    assert window.close() and answers.questions == ["save_trained"]


def test_a_cancelled_save_dialog_keeps_everything(trained):
    window, answers = trained
    answers.save_trained = "save"
    window.weights.ask_save_path = lambda: None
    assert not window.open_file(str(TWO_LAYER))
    assert "moons" in window.windowTitle()
