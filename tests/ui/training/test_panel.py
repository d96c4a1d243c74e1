"""The training panel driven through its widgets: live curves, NaN pauses, stop, boundary,
misfits."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QTimer  # noqa: E402

from bpviz.graph import GraphDocument, NodeData, load_graph  # noqa: E402
from bpviz.ui.training.dock import suggest_dataset  # noqa: E402
from bpviz.ui.training.worker import TrainConfig, TrainingRun  # noqa: E402
from tests.ui.training.panelkit import FINISH_S, batch_points, wait_idle, wait_polls  # noqa: E402,E501
from tests.ui.windowkit import EXAMPLES  # noqa: E402


def test_training_updates_the_curves_while_the_window_answers(qtbot, make_panel):
    panel = make_panel(epochs=1000)  # moons_mlp: 5 iterations an epoch, ~1 s
    states, sizes = [], []

    def tick() -> None:
        states.append(panel.state)
        sizes.append(batch_points(panel))

    ticker = QTimer()
    ticker.setInterval(10)
    ticker.timeout.connect(tick)
    with qtbot.waitSignal(panel.weights_trained, timeout=FINISH_S) as trained:
        assert panel.start()
        qtbot.waitUntil(lambda: panel.state == "training", timeout=FINISH_S)
        workers = [p.name for p in multiprocessing.active_children()]
        ticker.start()
    ticker.stop()
    growing = sorted(set(sizes))
    print(f"UI timer during training: {states.count('training')} ticks, "
          f"curve sizes seen {len(growing)}")
    assert "bpviz-training" in workers  # the run is a process of its own, not the UI's work
    assert len(growing) >= 3  # the curve grew while training ran, not only at the end
    assert states.count("training") >= 10  # the UI thread kept running its timer meanwhile
    assert batch_points(panel) == panel.info.total_iterations == 5000
    val = panel.accuracy_plot.data["val"]
    assert val.x.size == 1000 and val.y.values[-1] > 90
    assert set(panel.grad_plot.curves) == {"hidden", "out"}
    gradient = panel.grad_plot.smooth["out"]
    assert gradient.seen == 5000 and gradient.x.size <= 800  # thinned
    assert 0 < panel.grad_plot.last["out"] < 1
    assert trained.args[0] is panel.trained.network
    assert "trained 1000 epochs (5000 iterations)" in panel.controls.status.toolTip()
    assert panel.controls.progress.value() == 5000


def regression_graph() -> GraphDocument:
    return GraphDocument("regression", [
        NodeData("x", "input", [], {"shape": [2]}),
        NodeData("fc", "dense", ["x"], {"units": 1}),
        NodeData("loss", "mse", ["fc"])])


def test_a_nan_pauses_training_with_the_nodes_name_and_a_lower_lr_lets_it_finish(
        qtbot, make_panel):
    panel = make_panel(regression_graph(), epochs=5, optimizer="SGD")  # 25 iterations
    controls = panel.controls
    controls.lr.setValue(50)
    controls.momentum.setValue(0)
    messages = []
    panel.message.connect(messages.append)
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=FINISH_S)
    status = controls.status.toolTip()
    print(status)
    assert status.startswith("paused: iteration ") and "is not finite" in status
    assert "of node 'fc'" in status or "of node 'loss'" in status
    assert status.endswith("(lr 50 may be too high) — lower the learning rate and press Resume")
    assert "⚠" in controls.status.text()
    assert messages[-1] == f"Training {status}"
    assert panel.editor.selection in (["fc"], ["loss"])
    assert panel.run.running and panel.run.paused is not None  # the process waits
    assert controls.pause_button.text() == "Resume" and controls.pause_button.isChecked()
    assert controls.lr.isEnabled() and controls.momentum.isEnabled()
    assert not controls.optimizer.isEnabled() and not controls.batch.isEnabled()
    held = batch_points(panel)
    wait_polls(qtbot, panel)
    assert batch_points(panel) == held and panel.state == "paused"
    controls.lr.setValue(0.1)
    controls.pause_button.click()
    assert panel.state == "training" and not controls.lr.isEnabled()
    assert messages[-1] == "Training resumed with lr 50 → 0.1"
    wait_idle(qtbot, panel)
    assert "trained 5 epochs (25 iterations)" in controls.status.toolTip()
    rows = [row for row in panel.metrics.rows if "loss" in row]
    assert [row["iteration"] for row in rows] == list(range(1, 26))  # the failed one retried
    assert all(np.isfinite(row["loss"]) for row in rows)
    assert panel.trained is not None and panel.trained.iterations == 25
    assert all(np.isfinite(v).all() for v in panel.trained.tensors().values())


def test_stop_ends_the_run_early_and_keeps_the_weights(qtbot, make_panel):
    panel = make_panel(epochs=100000)
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 20, timeout=FINISH_S)
    assert panel.controls.stop_button.isEnabled() and not panel.controls.train_button.isEnabled()
    panel.controls.stop_button.click()
    wait_idle(qtbot, panel)
    assert "stopped after" in panel.controls.status.toolTip()
    assert panel.trained is not None and panel.trained.fits(panel.editor.doc)
    assert panel.trained.iterations == panel.iteration > 20
    assert panel.trained.iterations < panel.info.total_iterations  # cut short, not run out
    assert panel.controls.train_button.isEnabled()


def test_pause_holds_the_iterations_and_resume_goes_on(qtbot, make_panel):
    panel = make_panel(epochs=100000)
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 10, timeout=FINISH_S)
    panel.controls.pause_button.click()
    assert panel.state == "paused" and panel.controls.pause_button.text() == "Resume"
    wait_polls(qtbot, panel)  # news already on its way arrives
    held = batch_points(panel)
    wait_polls(qtbot, panel)
    assert batch_points(panel) == held
    panel.controls.pause_button.click()
    assert panel.state == "training"
    qtbot.waitUntil(lambda: batch_points(panel) > held, timeout=FINISH_S)
    panel.stop()
    wait_idle(qtbot, panel)


def test_the_decision_boundary_is_drawn_for_2d_data(qtbot, make_panel):
    panel = make_panel(epochs=20)
    assert panel.start()
    wait_idle(qtbot, panel)
    plot = panel.boundary_plot
    assert plot.last is not None and plot.last.iteration == 100
    assert plot.image.image.shape == (96, 96, 4)
    assert plot.last.edge.any()  # a boundary line
    x, y = plot.points.getData()
    assert len(x) == 200  # every moons sample
    x0, y0, width, height = plot.last.extent
    assert x0 < x.min() and x0 + width > x.max() and y0 < y.min() and y0 + height > y.max()


def test_images_get_a_note_instead_of_a_boundary(qtbot, make_panel):
    panel = make_panel("digits_cnn", dataset="digits", epochs=1, batch=256)
    assert panel.start()
    wait_idle(qtbot, panel)
    assert panel.boundary_plot.last is None
    assert "no decision boundary for digits" in panel.boundary_plot.note.toPlainText()
    assert "trained 1 epochs" in panel.controls.status.toolTip()


@pytest.mark.parametrize(("dataset", "message"), [
    ("blobs", "blobs has 3 classes (labels 0–2) but the layer before softmax_cross_entropy "
              "has 2 units"),
    ("digits", "the digits images are 1×8×8 but the graph's input 'x' expects 2"),
])
def test_data_that_do_not_fit_show_why_and_nothing_trains(qtbot, make_panel, dataset,
                                                           message):
    panel = make_panel(dataset=dataset)
    messages = []
    panel.message.connect(messages.append)
    assert panel.start()
    wait_idle(qtbot, panel)
    assert message in panel.controls.status.toolTip()
    assert "⚠" in panel.controls.status.text()
    assert messages == [f"cannot train: {panel.controls.status.toolTip()}"]
    assert batch_points(panel) == 0 and panel.trained is None


def test_a_graph_with_errors_does_not_start(qtbot, make_panel):
    panel = make_panel()
    panel.editor.disconnect("loss", 0)
    assert not panel.start()
    assert panel.state == "idle" and panel.run is None
    assert panel.controls.status.toolTip().startswith("fix the graph first: ")


def test_editing_the_graph_while_training_trains_the_copy(qtbot, make_panel):
    panel = make_panel(epochs=100000)
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 5, timeout=FINISH_S)
    panel.editor.set_params("hidden", {"units": 8})
    qtbot.waitUntil(lambda: "the graph has changed" in panel.controls.status.toolTip(),
                    timeout=5000)
    panel.stop()
    wait_idle(qtbot, panel)
    assert "the weights fit the graph as it was" in panel.controls.status.toolTip()
    trained = panel.trained
    assert not trained.fits(panel.editor.doc)
    assert trained.network.nodes["hidden"].op.params["weight"].shape == (16, 2)
    panel.editor.undo()
    assert trained.fits(panel.editor.doc)
    assert trained.tensors()["hidden/weight"].shape == (16, 2)


def test_a_data_file_is_chosen_with_the_file_entry(qtbot, make_panel, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2))
    lines = ["a,b,label"] + [f"{p:.5f},{q:.5f},{int(p > q)}" for p, q in x]
    (tmp_path / "points.csv").write_text("\n".join(lines) + "\n")
    panel = make_panel(epochs=3)
    controls = panel.controls
    controls.ask_data_path = lambda: str(tmp_path / "points.csv")
    controls.dataset.activated.emit(controls.dataset.findText("File…"))
    assert controls.dataset.currentText() == "points.csv"
    assert controls.config().dataset == str(tmp_path / "points.csv")
    controls.ask_data_path = lambda: None  # cancelled: the choice stays
    controls.dataset.activated.emit(controls.dataset.findText("File…"))
    assert controls.dataset.currentText() == "points.csv"
    assert panel.start()
    wait_idle(qtbot, panel)
    assert "trained 3 epochs" in controls.status.toolTip()
    assert panel.boundary_plot.last is not None


def test_the_optimizer_brings_its_default_learning_rate(make_panel):
    controls = make_panel().controls
    assert controls.lr.value() == 0.01 and not controls.momentum.isEnabled()
    controls.optimizer.setCurrentText("SGD")
    assert controls.lr.value() == 0.05 and controls.momentum.isEnabled()
    config = controls.config()
    assert (config.optimizer, config.lr, config.momentum) == ("sgd", 0.05, 0.9)


def test_the_dataset_follows_the_graphs_input():
    assert suggest_dataset(load_graph(EXAMPLES / "digits_cnn.json")) == "digits"
    assert suggest_dataset(load_graph(EXAMPLES / "moons_mlp.json")) == "moons"
    assert suggest_dataset(load_graph(EXAMPLES / "tiny_cnn.json")) == "digits"
    doc = GraphDocument("images", [NodeData("x", "input", [], {"shape": [1, 16, 16]})])
    assert suggest_dataset(doc) == "shapes"
    doc.set_params("x", {"shape": [5]})
    assert suggest_dataset(doc) is None


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -0.5, True])
def test_a_run_refuses_optimizer_settings_that_are_not_finite_numbers(lr):
    run = TrainingRun(regression_graph(), TrainConfig())
    with pytest.raises(ValueError, match="lr must be a finite number of at least 0"):
        run.set_options(lr=lr)
