"""A training run as the workspace knows it: its state, its metrics, the graph it trains."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bpviz.engine.events import EpochEvent
from bpviz.graph import GraphDocument, infer_shapes
from tests.workspace.conftest import example
from tests.workspace.test_weights import trained


def update(iterations=(), losses=(), grad_norms=None, epochs=(), epoch=0):
    """What a training job reports between two polls (bpviz.ui.training.job.Update)."""
    return SimpleNamespace(iterations=list(iterations), losses=list(losses),
                           grad_norms=grad_norms or {}, epochs=list(epochs), epoch=epoch)


def test_a_runs_reports_become_metrics_rows(workspace_on):
    workspace, events = workspace_on("moons_mlp")
    training = workspace.training
    training.begin(workspace.doc.copy(), SimpleNamespace(dataset="moons"), None)
    assert training.state == "preparing"
    training.add(update([1, 2], [0.7, 0.6], {"hidden": [1.5, 1.25], "out": [0.5, 0.25]},
                        epoch=1))
    training.add(update(epochs=[EpochEvent(1, 2, 0.65, 55.0, 0.66, 50.0, 0.1)], epoch=0))
    assert training.metrics.rows == [
        {"iteration": 1, "loss": 0.7, "grad_norm/hidden": 1.5, "grad_norm/out": 0.5},
        {"iteration": 2, "loss": 0.6, "grad_norm/hidden": 1.25, "grad_norm/out": 0.25},
        {"iteration": 2, "epoch": 1, "train_loss": 0.65, "train_acc": 55.0,
         "val_loss": 0.66, "val_acc": 50.0}]
    assert (training.iteration, training.epoch) == (2, 1)  # an empty epoch keeps the last
    assert events.names() == ["training_started", "training_state", "training_progress",
                              "training_progress"]


def test_states_are_announced_and_checked(workspace_on):
    workspace, events = workspace_on("moons_mlp")
    workspace.training.set_state("paused")
    assert workspace.training.running and events[-1] == ("training_state",
                                                         {"state": "paused"})
    with pytest.raises(ValueError, match="'stopped'"):
        workspace.training.set_state("stopped")


def test_editing_the_graph_while_training_is_noticed(workspace_on):
    workspace, _events = workspace_on("moons_mlp")
    training = workspace.training
    training.begin(workspace.doc.copy(), SimpleNamespace(dataset="moons"), None)
    workspace.doc.set_pos("x", (5.0, 5.0))
    workspace.set_report(workspace.report)
    assert not training.graph_changed  # moving a node changes nothing trained
    workspace.doc.set_trainable("hidden", False)
    workspace.set_report(workspace.report)
    assert training.graph_changed


def test_a_new_graph_while_idle_clears_the_run_and_drops_weights_that_do_not_fit(
        workspace_on):
    workspace, events = workspace_on("moons_mlp")
    training = workspace.training
    training.add(update([1], [0.5]))
    training.keep(trained("moons_mlp", seed=3))
    workspace.set_document(example("moons_mlp"))  # the same structure: they stay
    assert training.trained is not None and training.metrics.rows == []
    assert "training_cleared" in events.names()
    workspace.set_document(example("tiny_cnn"))
    assert training.trained is None


def test_a_new_graph_while_running_leaves_the_run_alone(workspace_on):
    workspace, _events = workspace_on("moons_mlp")
    training = workspace.training
    training.begin(workspace.doc.copy(), SimpleNamespace(dataset="moons"), None)
    training.add(update([1], [0.5]))
    workspace.set_document(example("tiny_cnn"))
    assert training.graph_changed and len(training.metrics.rows) == 1


def test_a_graph_with_errors_cannot_be_trained(workspace_on):
    workspace, _events = workspace_on("moons_mlp")
    assert workspace.training.problem() is None
    workspace.set_document(example("moons_mlp"))
    workspace.doc.set_params("out", {"units": 0})
    workspace.set_report(infer_shapes(workspace.doc))
    assert workspace.training.problem().startswith("fix the graph first: ")
    workspace.set_document(GraphDocument("empty"))
    assert workspace.training.problem() == "there is no graph to train"


def test_the_settings_for_the_next_run_are_announced_once(workspace_on):
    workspace, events = workspace_on("moons_mlp")
    config = SimpleNamespace(dataset="circles")
    workspace.training.set_config(config)
    workspace.training.set_config(config)
    assert events == [("training_config", {"config": config})]
    assert workspace.training.config.dataset == "circles"
