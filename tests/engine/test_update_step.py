"""The update phase of a StepSession against torch.optim, in float64.

One optimizer step on a small CNN with a convolution, batchnorm and a dense
layer: the weights after each update step are torch's after optimizer.step()
on torch's own gradients, and the loss after the update is torch's forward
pass with those weights. The session changes neither the network nor the
optimizer.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bpviz.engine import OPS, Executor, Network, NodeSpec
from bpviz.engine.formulas import describe_step
from bpviz.engine.optim import make_optimizer
from bpviz.engine.stepping import StepSession
from bpviz.oracle.torch_graph import run_graph, torch_tensors, total_loss

RELATIVE = 1e-12
CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "momentum": 0.9}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.02}),
    ("sgd", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.02, "betas": (0.6, 0.9), "eps": 1e-6, "weight_decay": 0.05}),
]


def small_cnn(seed: int = 0) -> Network:
    """x [2,6,6] → conv 3 → relu → batchnorm → maxpool 2 → flatten → dense 4 → CE."""
    layers = [("c", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 1}),
              ("r", "relu", {}), ("bn", "batchnorm", {}), ("p", "maxpool2d", {"kernel": 2}),
              ("f", "flatten", {}), ("d", "dense", {"units": 4}),
              ("loss", "softmax_cross_entropy", {})]
    nodes = [NodeSpec("x", OPS["input"](shape=[2, 6, 6]))]
    shapes = {"x": (2, 6, 6)}
    rng = np.random.default_rng(seed)
    for node_id, op, hp in layers:
        node = NodeSpec(node_id, OPS[op](**hp), [nodes[-1].id])
        in_shapes = [shapes[nodes[-1].id]]
        if not node.op.is_loss:
            shapes[node_id] = node.op.infer_shape(in_shapes)
        node.op.init_params(in_shapes, rng, np.float64, "glorot")
        nodes.append(node)
    network = Network(nodes)
    bn = network.nodes["bn"].op  # not the identity at the start, so its update shows
    bn.params["weight"][...] = rng.uniform(0.5, 1.5, 3)
    bn.params["bias"][...] = rng.standard_normal(3) * 0.1
    network.nodes["c"].op.params["bias"][...] = rng.standard_normal(3) * 0.1
    return network


def batch(seed: int = 1) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((5, 2, 6, 6))}, {"loss": rng.integers(0, 4, 5)}


def torch_pass(network, feeds, targets, params):
    """torch's loss on the batch with `params` (node id → name → tensor)."""
    _, buffers = torch_tensors(network)
    leaves = {k: torch.tensor(v) for k, v in feeds.items()}
    t_targets = {k: torch.tensor(v, dtype=torch.int64) for k, v in targets.items()}
    return total_loss(network, run_graph(network, leaves, params, buffers, t_targets))


def torch_step(network, feeds, targets, name, kwargs, warmup: int = 0):
    """torch's parameters after `warmup` + 1 optimizer steps on the batch, and its loss."""
    params, _ = torch_tensors(network)
    trainable = [t for store in params.values() for t in store.values() if t.requires_grad]
    optimizer = (torch.optim.SGD if name == "sgd" else torch.optim.Adam)(trainable, **kwargs)
    for _ in range(warmup + 1):
        optimizer.zero_grad()
        torch_pass(network, feeds, targets, params).backward()
        optimizer.step()
    with torch.no_grad():
        loss = float(torch_pass(network, feeds, targets, params))
    weights = {i: {k: t.detach().numpy() for k, t in store.items()}
               for i, store in params.items()}
    return weights, loss


def assert_close(ours: np.ndarray, theirs: np.ndarray, what: str) -> None:
    scale = max(float(np.max(np.abs(theirs))), 1e-300)
    error = float(np.max(np.abs(ours - theirs)))
    assert error <= RELATIVE * scale, f"{what}: error {error:.3g}, scale {scale:.3g}"


def update_steps_of(session: StepSession):
    return session.steps[session.update_start:]


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_one_update_matches_torch_optim(name, kwargs):
    network = small_cnn()
    feeds, targets = batch()
    optimizer = make_optimizer(name, network, **kwargs)
    session = StepSession(network, feeds, targets, update=optimizer)
    expected, loss_after = torch_step(network, feeds, targets, name, kwargs)
    steps = update_steps_of(session)
    assert [step.node for step in steps] == ["c", "bn", "d"]  # forward order
    for step in steps:
        assert step.phase == "update"
        assert set(step.params_after) == set(network.nodes[step.node].op.params)
        for param, value in step.params_after.items():
            assert_close(value, expected[step.node][param], f"{step.node}/{param}")
    assert session.loss_after == pytest.approx(loss_after, rel=RELATIVE)
    assert steps[-1].loss_after == session.loss_after
    assert steps[-1].loss_before == session.loss


@pytest.mark.parametrize(("name", "kwargs"), [CONFIGS[3], CONFIGS[7]])
def test_an_optimizer_with_state_shows_its_next_step_and_keeps_its_state(name, kwargs):
    network = small_cnn()
    feeds, targets = batch()
    original = copy.deepcopy(network)
    optimizer = make_optimizer(name, network, **kwargs)
    Executor(network).run(feeds, targets)  # one training step first: momentum, moments
    optimizer.step()
    optimizer.zero_grad()
    params = {key: value.copy() for key, value in network.parameters().items()}
    state = optimizer.snapshot()
    session = StepSession(network, feeds, targets, update=optimizer)
    # torch takes both steps from the original weights: its second step is ours.
    expected, loss_after = torch_step(original, feeds, targets, name, kwargs, warmup=1)
    for step in update_steps_of(session):
        assert step.state_before and all(step.state_before.values())
        for param, value in step.params_after.items():
            assert_close(value, expected[step.node][param], f"{step.node}/{param}")
    assert session.loss_after == pytest.approx(loss_after, rel=RELATIVE)
    for key, value in network.parameters().items():
        assert value.tobytes() == params[key].tobytes(), f"{key} changed"
    assert_same_state(optimizer.state, state)


def assert_same_state(now: dict, before: dict) -> None:
    assert now.keys() == before.keys()
    for key, slot in before.items():
        for name, value in slot.items():
            if isinstance(value, np.ndarray):
                assert now[key][name].tobytes() == value.tobytes(), f"{key} {name}"
            else:
                assert now[key][name] == value, f"{key} {name}"


def test_adam_state_of_a_first_step():
    network = small_cnn()
    feeds, targets = batch()
    session = StepSession(network, feeds, targets, update=make_optimizer("adam", network))
    step = update_steps_of(session)[0]
    grad = step.grad_params["weight"]
    assert step.state_before["weight"] == {}
    assert step.state_after["weight"]["step"] == 1.0
    # m = (1 − β₁) g and v = (1 − β₂) g² after a first step from zero.
    np.testing.assert_allclose(step.state_after["weight"]["exp_avg"], 0.1 * grad, rtol=1e-12)
    np.testing.assert_allclose(step.state_after["weight"]["exp_avg_sq"], 0.001 * grad**2,
                               rtol=1e-12)


def test_a_frozen_node_gets_no_update_step():
    network = small_cnn()
    network.nodes["bn"].op.trainable = False
    feeds, targets = batch()
    kwargs = {"lr": 0.05, "momentum": 0.9}
    session = StepSession(network, feeds, targets,
                          update=make_optimizer("sgd", network, **kwargs))
    assert [step.node for step in update_steps_of(session)] == ["c", "d"]
    expected, loss_after = torch_step(network, feeds, targets, "sgd", kwargs)
    np.testing.assert_array_equal(expected["bn"]["weight"], network.nodes["bn"].op.params["weight"])
    assert session.loss_after == pytest.approx(loss_after, rel=RELATIVE)


def test_without_update_the_session_is_as_before():
    network = small_cnn()
    feeds, targets = batch()
    session = StepSession(network, feeds, targets)
    assert len(session.steps) == 2 * len(network.order)
    assert session.update_count == 0 and session.loss_after is None
    assert {step.phase for step in session.steps} == {"forward", "backward"}
    session.seek(len(session.steps) - 1)
    assert session.phase == "backward"


def test_phases_done_nodes_and_seeking_with_updates():
    network = small_cnn()
    feeds, targets = batch()
    session = StepSession(network, feeds, targets, update=make_optimizer("sgd", network, lr=0.1))
    order = len(network.order)
    assert len(session.steps) == 2 * order + 3
    assert session.update_start == 2 * order
    session.seek(2 * order - 1)
    assert session.phase == "backward"
    assert session.done_nodes("update") == frozenset()
    session.step_forward()
    assert session.phase == "update" and session.active_node == "c"
    assert session.done_nodes() == {"c"}
    assert session.done_nodes("backward") == {node.id for node in network.order}
    session.reset()
    session.run_to_end_of_phase()
    session.run_to_end_of_phase()
    assert session.position == 2 * order - 1
    session.run_to_end_of_phase()
    assert session.at_end


def test_the_network_and_its_running_statistics_stay_as_they_were():
    network = small_cnn()
    feeds, targets = batch()
    before = {key: value.copy() for key, value in network.parameters().items()}
    buffers = {k: v.copy() for k, v in network.nodes["bn"].op.buffers.items()}
    optimizer = make_optimizer("adam", network, lr=0.1)
    session = StepSession(network, feeds, targets, update=optimizer)
    for key, value in network.parameters().items():
        assert value.tobytes() == before[key].tobytes()
    for name, value in network.nodes["bn"].op.buffers.items():
        assert value.tobytes() == buffers[name].tobytes()
    assert optimizer.state == {}
    # The ops still hold the first pass: an effective field is the one before the update.
    fresh = StepSession(network, feeds, targets)
    np.testing.assert_array_equal(session.effective_receptive_field("c", 0, 0, 2, 2),
                                  fresh.effective_receptive_field("c", 0, 0, 2, 2))


def test_update_formula_lines_name_the_rule_and_its_numbers():
    network = small_cnn()
    feeds, targets = batch()
    session = StepSession(network, feeds, targets,
                          update=make_optimizer("sgd", network, lr=0.05, momentum=0.9))
    first, bn, last = update_steps_of(session)
    formula = describe_step(first, network)
    assert formula.title == "conv2d 'c' · update · SGD"
    text = "\n".join(formula.lines)
    assert "v ← μ v + ∂L/∂θ" in text and "θ ← θ − α v" in text and "μ = 0.9" in text
    assert "W[m=" in text  # a conv weight's entry names its axes
    assert "for θ = γ and β" in "\n".join(describe_step(bn, network).lines)
    assert not any(line.startswith("L on this batch") for line in formula.lines)
    final = describe_step(last, network).lines[-1]
    assert final.startswith("L on this batch") and f"{session.loss_after:.4g}" in final


def test_the_entry_line_shows_the_numbers_of_the_entry_that_moved_most():
    network = small_cnn()
    feeds, targets = batch()
    session = StepSession(network, feeds, targets, update=make_optimizer("sgd", network, lr=0.5))
    step = update_steps_of(session)[-1]  # the dense layer
    change = np.abs(step.params_after["weight"] - step.params_before["weight"])
    i, j = np.unravel_index(np.argmax(change), change.shape)
    line = next(line for line in describe_step(step, network).lines if line.startswith("W ("))
    before, after = step.params_before["weight"][i, j], step.params_after["weight"][i, j]
    grad = step.grad_params["weight"][i, j]
    assert after == pytest.approx(before - 0.5 * grad, rel=1e-12)
    factor = f"({grad:.4g})" if grad < 0 else f"{grad:.4g}"
    assert f"W[{i},{j}] = {before:.4g} − 0.5 · {factor} = {after:.4g}" in line
