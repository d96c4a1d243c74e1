"""The training panel in the main window: its dock, the Train menu, the status bar, NaN pauses."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


@pytest.fixture
def window(qtbot):
    win, _ = make_window(qtbot, EXAMPLES / "two_layer_classifier.json")
    yield win
    win.training_dock.widget().shut_down()


def menu_titles(win) -> list[str]:
    return [a.text() for a in win.menuBar().actions()]


def test_the_training_dock_sits_at_the_bottom_with_a_toggle(window):
    dock = window.training_dock
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert dock.toggleViewAction() in window.panels_menu.actions()
    assert dock.isVisible() and dock.objectName() == "training_dock"
    titles = menu_titles(window)
    assert titles.index("&Train") == titles.index("&Help") - 1


def test_ctrl_t_trains_and_the_status_bar_reports(qtbot, window):
    panel = window.training_dock.widget()
    assert panel.controls.config().dataset == "moons"
    panel.controls.epochs.setValue(5)
    train, stop = window.actions_["train"], window.actions_["train_stop"]
    assert train.shortcut().toString() == "Ctrl+T" and not stop.isEnabled()
    train.trigger()
    assert panel.running and not train.isEnabled() and stop.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert train.isEnabled() and not stop.isEnabled()
    assert window.statusBar().currentMessage().startswith("Training: trained 5 epochs")
    assert panel.trained is not None and panel.trained.fits(window.editor.doc)


def test_opening_an_image_graph_picks_a_dataset_that_fits(window):
    panel = window.training_dock.widget()
    assert window.open_path(str(EXAMPLES / "digits_cnn.json"))
    assert panel.controls.config().dataset == "digits"
    assert window.open_path(str(EXAMPLES / "moons_mlp.json"))
    assert panel.controls.config().dataset == "moons"


def test_a_dataset_that_does_not_fit_says_so_in_the_status_bar(qtbot, window):
    panel = window.training_dock.widget()
    panel.controls.set_dataset("blobs")
    window.actions_["train"].trigger()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    assert window.statusBar().currentMessage().startswith(
        "cannot train: bce with 1 output can only tell 2 classes apart, but blobs has 3")


REGRESSION = {"format": "bpviz-graph", "version": 1, "name": "regression", "nodes": [
    {"id": "x", "op": "input", "params": {"shape": [2]}},
    {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 1}},
    {"id": "loss", "op": "mse", "inputs": ["fc"]}]}


def test_a_nan_pauses_the_run_the_window_answers_and_stop_keeps_the_last_finite_weights(
        qtbot, window, tmp_path):
    path = tmp_path / "regression.json"
    path.write_text(json.dumps(REGRESSION))
    assert window.open_path(str(path))
    panel = window.training_dock.widget()
    controls = panel.controls
    controls.epochs.setValue(50)
    controls.optimizer.setCurrentText("SGD")
    controls.lr.setValue(50)
    controls.momentum.setValue(0)
    window.actions_["train"].trigger()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=60_000)
    message = window.statusBar().currentMessage()
    assert message.startswith("Training paused: iteration ") and "may be too high" in message
    node = panel.run.paused.node
    assert f"of node '{node}'" in message and window.editor.selection == [node]
    assert window.actions_["train_pause"].isEnabled() and window.actions_["train_stop"].isEnabled()
    ticks = []
    ticker = QTimer()
    ticker.timeout.connect(lambda: ticks.append(1))
    ticker.start(10)
    qtbot.waitUntil(lambda: len(ticks) >= 10)  # the window answers while the run waits
    ticker.stop()
    assert len(ticks) >= 10 and panel.state == "paused"
    window.editor.set_selection(["x"])
    assert window.editor.selection == ["x"]
    with qtbot.waitSignal(panel.weights_trained, timeout=60_000):
        window.actions_["train_stop"].trigger()
    qtbot.waitUntil(lambda: not panel.running, timeout=60_000)
    done = panel.run.paused.iteration - 1  # the iterations that went through
    assert window.statusBar().currentMessage().startswith(
        f"Training: stopped after {done} iterations")
    assert panel.trained.iterations == done
    assert all(np.isfinite(value).all() for value in panel.trained.tensors().values())
