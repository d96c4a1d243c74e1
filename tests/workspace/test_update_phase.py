"""The update phase of the workspace's pass: the Training panel's optimizer, one step per
trainable node, and a pass asked for again at its step when only that phase changes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from bpviz.engine.executor import Executor
from bpviz.graph import build_network
from bpviz.graph.batch import random_batch


@dataclass(frozen=True)
class TrainConfig:
    """What the Training panel puts in the workspace (the window's TrainConfig's fields)."""

    dataset: str = "moons"
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.9


def test_the_pass_ends_with_an_sgd_step_per_trainable_node(workspace_on):
    workspace, _events = workspace_on("tiny_cnn")
    workspace.training.set_config(TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0))
    assert workspace.build_pass() is None
    session = workspace.session
    updates = session.steps[session.update_start:]
    assert [step.node for step in updates] == ["c1", "fc"]
    # Independently: plain SGD on the gradients of a pass of the same network and batch.
    network = build_network(workspace.doc, seed=0)
    feeds, targets = random_batch(network, 4, 0, np.float64)
    Executor(network).run(feeds, targets)
    for step in updates:
        op = network.nodes[step.node].op
        for name, param in op.params.items():
            np.testing.assert_allclose(step.params_after[name], param - 0.1 * op.grads[name],
                                       rtol=1e-12, atol=1e-15)
    for node in network.order:  # the loss on the same batch after the whole update
        for name, param in node.op.params.items():
            param -= 0.1 * node.op.grads[name]
    assert session.loss_after == pytest.approx(Executor(network).run(feeds, targets,
                                                                      backward=False),
                                               rel=1e-12)


def test_seek_step_counts_the_update_phase(workspace_on):
    workspace, _events = workspace_on("tiny_cnn")
    workspace.build_pass()
    workspace.seek_step("update", 2)
    assert workspace.session.phase == "update" and workspace.session.current.node == "fc"
    workspace.seek_step("backward", 7)
    assert workspace.session.current.node == "x"  # the last backward step, before the update
    with pytest.raises(IndexError, match="the update pass has steps 1 to 2, not 3"):
        workspace.seek_step("update", 3)


def test_without_the_update_step_the_pass_has_none(workspace_on):
    workspace, _events = workspace_on("tiny_cnn")
    workspace.set_settings(update=False)
    workspace.build_pass()
    assert workspace.session.update_count == 0
    assert workspace.session.steps[-1].phase == "backward"
    with pytest.raises(IndexError, match="no update steps"):
        workspace.seek_step("update", 1)
    with pytest.raises(ValueError, match="on or off"):
        workspace.set_settings(update="yes")


def test_frozen_nodes_get_no_update_step(workspace_on):
    workspace, _events = workspace_on("tiny_cnn")
    workspace.doc.set_trainable("c1", False)
    workspace.build_pass()
    session = workspace.session
    assert [step.node for step in session.steps[session.update_start:]] == ["fc"]


def test_other_optimizer_settings_drop_the_pass_with_its_position(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.training.set_config(TrainConfig(optimizer="adam", lr=0.01))
    workspace.build_pass()
    workspace.seek_step("update", 1)
    position = workspace.session.position
    workspace.training.set_config(TrainConfig(optimizer="adam", lr=0.01, dataset="xor"))
    assert workspace.built is not None  # the dataset does not change the update
    workspace.training.set_config(TrainConfig(optimizer="sgd", lr=0.05))
    assert workspace.built is None
    assert ("pass_dropped", {"had": True, "resume": position}) in events
    workspace.build_pass()
    assert workspace.session.steps[-1].settings["optimizer"] == "sgd"


def test_turning_the_update_step_off_drops_the_pass_with_its_position(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.build_pass()
    workspace.seek_step("backward", 3)
    position = workspace.session.position
    workspace.set_settings(update=False)
    assert ("pass_dropped", {"had": True, "resume": position}) in events
    workspace.build_pass()
    workspace.set_settings(seed=4)  # other settings: a new pass from the start
    assert events[-2] == ("pass_dropped", {"had": True})


@dataclass(frozen=True)
class Trained:
    """The parts of a WeightSource of trained weights the update reads."""

    optimizer: str
    optimizer_state: dict
    iterations: int


def test_the_update_continues_a_trained_runs_optimizer_state(workspace_on):
    from bpviz.engine.optim import make_optimizer
    from bpviz.engine.stepping import StepSession
    from bpviz.workspace.update import UpdateChoice, continue_run, describe

    workspace, _events = workspace_on("tiny_cnn")
    run = build_network(workspace.doc, seed=0, dtype=np.float32)  # training runs in float32
    adam = make_optimizer("adam", run, lr=0.01)
    feeds, targets = random_batch(run, 4, 0, np.float32)
    for _ in range(3):
        Executor(run).run(feeds, targets)
        adam.step()
        adam.zero_grad()
    source = Trained("adam", adam.snapshot(), 3)
    shown = build_network(workspace.doc, seed=0)  # the pass: float64, the trained weights
    for node in shown.order:
        for name, param in node.op.params.items():
            param[...] = run.nodes[node.id].op.params[name]
    batch, batch_targets = random_batch(shown, 4, 1, np.float64)
    choice = UpdateChoice("adam", 0.01)
    update = choice.make(shown)
    assert continue_run(update, choice, source)
    session = StepSession(shown, batch, batch_targets, update=update)
    step = session.steps[session.update_start]
    assert step.state_before["weight"]["step"] == 3 and step.state_after["weight"]["step"] == 4
    # The fourth step by hand, from the run's moments (torch.optim.Adam's formulas).
    m = 0.9 * adam.state[("c1", "weight")]["exp_avg"] + 0.1 * step.grad_params["weight"]
    v = (0.999 * adam.state[("c1", "weight")]["exp_avg_sq"]
         + 0.001 * step.grad_params["weight"] ** 2)
    expected = step.params_before["weight"] - 0.01 * (m / (1 - 0.9 ** 4)) / (
        np.sqrt(v / (1 - 0.999 ** 4)) + 1e-8)
    np.testing.assert_allclose(step.params_after["weight"], expected, rtol=1e-5, atol=1e-7)
    assert "after 3 iterations" in describe(choice, source)
    sgd = UpdateChoice("sgd", 0.05, 0.9)  # another optimizer: a first step
    assert not continue_run(sgd.make(shown), sgd, source)
    assert "a first step" in describe(sgd, source)
