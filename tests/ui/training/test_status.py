"""The status line follows the run (its epoch counter) and the graph (a replaced document)."""

from __future__ import annotations

import re

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import load_graph  # noqa: E402
from tests.ui.training.panelkit import FINISH_S, batch_points, wait_idle  # noqa: E402
from tests.ui.windowkit import EXAMPLES  # noqa: E402


def status_epoch(panel) -> tuple[int, int]:
    found = re.search(r"epoch (\d+)/(\d+)", panel.controls.status.toolTip())
    assert found, panel.controls.status.toolTip()
    return int(found[1]), int(found[2])


def test_the_status_counts_the_epoch_the_iterations_are_in(qtbot, make_panel):
    panel = make_panel(epochs=100000, batch=40)
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 20, timeout=FINISH_S)
    train_size = panel.info.train_size
    assert train_size == 160  # moons: 200 samples, a fifth kept for validation
    per_epoch = -(-train_size // 40)
    panel.timer.stop()  # polled here instead: some polls find no news
    seen, wrong = set(), []

    def poll_until_epoch_4() -> bool:
        panel.poll()
        epoch, epochs = status_epoch(panel)
        if epochs != 100000 or epoch != (panel.iteration - 1) // per_epoch + 1:
            wrong.append((epoch, epochs, panel.iteration))
        seen.add(epoch)
        return len(seen) > 1 and max(seen) > 3

    qtbot.waitUntil(poll_until_epoch_4, timeout=FINISH_S)  # a poll every 10 ms
    assert wrong == []  # (epoch shown, epochs shown, iteration)
    assert len(seen) > 1 and max(seen) > 3
    panel.timer.start()
    panel.stop()
    wait_idle(qtbot, panel)


def test_opening_another_graph_while_idle_clears_the_last_run(qtbot, make_panel):
    panel = make_panel(epochs=3)
    assert panel.start()
    wait_idle(qtbot, panel)
    assert panel.trained is not None and batch_points(panel) == 15
    assert panel.boundary_plot.last is not None
    panel.editor.set_document(load_graph(EXAMPLES / "moons_mlp.json"))
    assert panel.trained is not None  # the same graph again: the weights still fit
    panel.editor.set_document(load_graph(EXAMPLES / "digits_cnn.json"))
    assert panel.trained is None
    assert batch_points(panel) == 0 and panel.metrics.rows == []
    assert panel.accuracy_plot.data["val"].x.size == 0
    assert panel.grad_plot.curves == {} and panel.boundary_plot.last is None
    assert panel.controls.status.toolTip() == ""
    assert "trained" not in panel.controls.progress.text()


def test_opening_another_graph_while_training_leaves_the_run_alone(qtbot, make_panel):
    panel = make_panel(epochs=100000)
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 5, timeout=FINISH_S)
    panel.editor.set_document(load_graph(EXAMPLES / "digits_cnn.json"))
    qtbot.waitUntil(lambda: "the graph has changed" in panel.controls.status.toolTip(),
                    timeout=5000)
    held = batch_points(panel)
    qtbot.waitUntil(lambda: batch_points(panel) > held, timeout=FINISH_S)
    panel.stop()
    wait_idle(qtbot, panel)
    assert panel.trained is not None and not panel.trained.fits(panel.editor.doc)
