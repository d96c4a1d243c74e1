"""The window's weights: File › Load/Save Weights…, trained weights in step-through,
training from loaded weights, and the training metrics in File › Export."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from bpviz.graph.weights import network_tensors, read_npz  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, make_window  # noqa: E402

MOONS = EXAMPLES / "moons_mlp.json"
FINISH_S = 60_000



def window_for(qtbot, path):
    win, answers = make_window(qtbot, path)
    win.answers = answers
    win.stepping.presenter.pulses.enabled = False
    return win


@pytest.fixture
def cnn(qtbot):
    win = window_for(qtbot, TINY_CNN)
    yield win
    win.training_dock.widget().shut_down()


@pytest.fixture
def moons(qtbot):
    win = window_for(qtbot, MOONS)
    yield win
    win.training_dock.widget().shut_down()


def session_tensors(window) -> dict[str, np.ndarray]:
    assert window.stepping.build_now() is None
    return {k: v.copy() for k, v in network_tensors(window.stepping.session.network).items()}


def weights_label(window) -> str:
    return window.stepping.bar.weights.text().strip()


def train(qtbot, window, epochs: int = 2):
    panel = window.training_dock.widget()
    panel.controls.epochs.setValue(epochs)
    window.actions_["train"].trigger()
    qtbot.waitUntil(lambda: not panel.running, timeout=FINISH_S)
    assert panel.trained is not None
    return panel


def test_saved_weights_load_back_into_the_pass(qtbot, cnn, tmp_path):
    path = tmp_path / "w.npz"
    cnn.stepping.bar.seed.setValue(3)
    assert weights_label(cnn) == "initial weights (seed 3)"
    seeded = session_tensors(cnn)
    cnn.stepping.seek("forward", 2)
    conv_out = cnn.stepping.session.current.output.copy()
    cnn.weights.ask_save_path = lambda: str(path)
    cnn.actions_["save_weights"].trigger()
    assert set(read_npz(path, "weights")) == set(seeded)
    cnn.stepping.bar.seed.setValue(7)  # other initial weights and another batch
    assert not np.array_equal(session_tensors(cnn)["c1/weight"], seeded["c1/weight"])
    cnn.weights.ask_load_path = lambda: str(path)
    cnn.actions_["load_weights"].trigger()
    assert cnn.stepping.session is None  # the old pass showed other weights
    assert weights_label(cnn) == "weights from w.npz"
    loaded = session_tensors(cnn)
    for key, value in seeded.items():
        np.testing.assert_array_equal(loaded[key], value)
    cnn.stepping.bar.seed.setValue(3)  # the same batch again: the same numbers
    session_tensors(cnn)
    cnn.stepping.seek("forward", 2)
    np.testing.assert_array_equal(cnn.stepping.session.current.output, conv_out)
    assert "weights from w.npz" in cnn.statusBar().currentMessage()
    tab = cnn.stepping.tensors
    assert tab.select("param:weight")
    np.testing.assert_array_equal(tab.current_entry().array, seeded["c1/weight"])


def test_weights_that_do_not_fit_change_nothing(qtbot, cnn, tmp_path):
    other = window_for(qtbot, EXAMPLES / "two_layer_classifier.json")
    path = tmp_path / "mlp.npz"
    assert other.weights.save(str(path))
    before = session_tensors(cnn)
    session = cnn.stepping.session
    cnn.weights.ask_load_path = lambda: str(path)
    cnn.actions_["load_weights"].trigger()
    title, text = cnn.answers.errors[0]
    assert title == "Cannot load the weights"
    assert text.startswith(f"weights file {path} has '")
    assert cnn.weights.current is None and cnn.stepping.session is session
    assert weights_label(cnn) == "initial weights (seed 0)"
    for key, value in session_tensors(cnn).items():
        np.testing.assert_array_equal(value, before[key])
    other.training_dock.widget().shut_down()


def test_after_training_the_pass_shows_the_trained_weights(qtbot, moons):
    panel = train(qtbot, moons)
    assert weights_label(moons) == "trained weights"
    tensors = session_tensors(moons)
    trained = panel.trained.tensors()
    assert set(tensors) == set(trained)
    for key, value in trained.items():
        np.testing.assert_array_equal(tensors[key], value.astype(np.float64))
    built = moons.stepping.built
    assert built.batch == "4 moons validation samples (standardised)" and not built.note
    assert moons.statusBar().currentMessage().endswith(
        "trained weights on 4 moons validation samples (standardised)")
    x = next(iter(moons.stepping.session.feeds.values()))
    assert abs(float(x.mean())) < 2 and 0.2 < float(x.std()) < 3  # standardised data
    moons.editor.set_params("hidden", {"units": 9})  # no longer the trained graph
    assert weights_label(moons) == "initial weights (seed 0)"


def test_saving_after_training_saves_the_trained_weights(qtbot, moons, tmp_path):
    panel = train(qtbot, moons)
    path = tmp_path / "trained.npz"
    moons.weights.ask_save_path = lambda: str(path)
    moons.actions_["save_weights"].trigger()
    saved = read_npz(path, "weights")
    for key, value in panel.trained.tensors().items():
        np.testing.assert_array_equal(saved[key], value.astype(np.float64))
    assert moons.statusBar().currentMessage() == f"saved the trained weights to {path}"


def test_training_starts_from_loaded_weights(qtbot, moons, tmp_path):
    path = tmp_path / "start.npz"
    moons.stepping.bar.seed.setValue(11)
    assert moons.weights.save(str(path))
    moons.stepping.bar.seed.setValue(0)
    assert moons.weights.load(str(path))
    panel = train(qtbot, moons, epochs=1)
    assert panel.info.start == "weights from start.npz"
    assert panel.controls.status.toolTip().startswith(
        "trained 1 epochs (5 iterations) from the weights from start.npz")
    assert weights_label(moons) == "trained weights"


def test_export_gets_the_training_metrics(qtbot, moons):
    panel = train(qtbot, moons)
    rows = panel.metrics.rows
    epochs = [row for row in rows if "epoch" in row]
    assert [row["epoch"] for row in epochs] == [1, 2]
    assert any("grad_norm/out" in row for row in rows)
    shown = []
    moons.files.run_export_dialog = shown.append
    moons.actions_["export"].trigger()
    dialog = shown[0]
    assert dialog.metrics == rows
    kinds = [dialog.kind.itemData(i) for i in range(dialog.kind.count())]
    assert {"curves_png", "curves_svg", "curves_csv"} <= set(kinds)
    dialog.set_kind("curves_csv")
    dialog.close()


def test_loaded_weights_that_no_longer_fit_give_way_to_the_seed(qtbot, cnn, tmp_path):
    path = tmp_path / "w.npz"
    assert cnn.weights.save(str(path)) and cnn.weights.load(str(path))
    cnn.editor.set_params("fc", {"units": 5})
    assert weights_label(cnn) == "weights from w.npz"  # checked when the pass is built
    session_tensors(cnn)
    built = cnn.stepping.built
    assert built.weights == "initial weights (seed 0)"
    assert built.note.startswith("the weights from w.npz: 'fc/weight' has shape [10, 128]")
    assert weights_label(cnn) == "⚠ initial weights (seed 0)"
    assert built.note in cnn.stepping.bar.weights.toolTip()


def test_a_second_run_starts_from_the_trained_weights_after_unfreezing(qtbot, moons):
    node = next(n for n in moons.editor.doc.nodes.values() if n.op == "dense")
    moons.editor.set_trainable(node.id, False)
    panel = train(qtbot, moons, epochs=1)
    trained = panel.trained.tensors()
    moons.editor.set_trainable(node.id, True)
    tensors, label = moons.weights.start_for(moons.editor.doc)
    assert label == "trained weights" and set(tensors) == set(trained)
    for key, value in trained.items():
        np.testing.assert_array_equal(tensors[key], value)
    panel = train(qtbot, moons, epochs=1)
    assert panel.info.start == "trained weights"


def test_renaming_keeps_the_trained_weights_and_a_drop_is_announced(qtbot, moons):
    train(qtbot, moons)
    moons.editor.rename("loss", "lossx")
    assert weights_label(moons) == "trained weights"
    moons.editor.rename("hidden", "h1")
    assert weights_label(moons) == "trained weights"
    assert moons.workspace.weights.unsaved_trained
    moons.editor.set_params("h1", {"units": 9})
    message = moons.statusBar().currentMessage()
    assert "trained weights (never saved) no longer fit the graph ('h1' changed)" in message
    assert weights_label(moons) == "initial weights (seed 0)"
    moons.editor.undo_stack.undo()
    assert "trained weights fit the graph again" in moons.statusBar().currentMessage()
    moons.editor.undo_stack.undo()  # the rename of hidden
    assert weights_label(moons) == "trained weights"
