"""StepSession: order, stepping back exactly, wire norms, receptive fields."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpviz.engine.stepping import StepSession
from bpviz.oracle.torch_graph import run_graph, total_loss
from tests.engine.stepping_graphs import (
    every_loss_session,
    example_json,
    example_session,
    residual_network,
)


@pytest.fixture(scope="module")
def cnn() -> StepSession:
    return example_session("tiny_cnn")


def test_steps_follow_the_executor_and_turn_at_the_loss(cnn):
    order = [node.id for node in cnn.network.order]
    forward = [s.node for s in cnn.steps if s.phase == "forward"]
    backward = [s.node for s in cnn.steps if s.phase == "backward"]
    assert forward == order and backward == order[::-1]
    assert [s.phase for s in cnn.steps] == ["forward"] * len(order) + ["backward"] * len(order)
    turn = cnn.turning_point
    assert cnn.steps[turn - 1].node == cnn.steps[turn].node == "loss"
    assert [s.index for s in cnn.steps[:turn]] == list(range(turn))


def test_stepping_forward_then_back_restores_every_state_exactly(cnn):
    cnn.reset()
    start = cnn.state()
    assert cnn.current is None and cnn.position == -1 and cnn.active_node is None
    assert cnn.done_nodes() == frozenset() and cnn.wire_gradient_norms() == {}
    assert not cnn.step_back()
    states = [start]
    while cnn.step_forward():
        states.append(cnn.state())
    assert cnn.at_end and len(states) == len(cnn.steps) + 1 and not cnn.step_forward()
    for expected in reversed(states[:-1]):
        assert cnn.step_back()
        assert cnn.state() == expected
    assert cnn.state() == start


def test_current_phase_and_done_nodes_as_one_steps(cnn):
    cnn.reset()
    for _ in range(3):
        cnn.step_forward()
    assert cnn.current is cnn.steps[2] and cnn.active_node == "r1" and cnn.phase == "forward"
    assert cnn.done_nodes() == {"x", "c1", "r1"} and cnn.done_nodes("backward") == set()
    cnn.run_to_end_of_phase()
    assert cnn.position == cnn.turning_point - 1 and cnn.phase == "forward"
    cnn.run_to_end_of_phase()
    assert cnn.at_end and cnn.phase == "backward"
    assert cnn.done_nodes() == cnn.done_nodes("forward") == set(cnn.network.nodes)
    cnn.run_to_end_of_phase()
    assert cnn.at_end
    cnn.seek(cnn.turning_point + 1)
    assert cnn.done_nodes() == {"loss", "fc"} and cnn.active_node == "fc"
    with pytest.raises(IndexError):
        cnn.seek(len(cnn.steps))
    cnn.reset()
    assert cnn.position == -1


def test_wire_norms_by_hand_on_a_fork():
    network = residual_network()
    x = np.random.default_rng(0).standard_normal((3, 4))
    session = StepSession(network, {"x": x})
    w1 = network.nodes["d1"].op.params["weight"]
    w2 = network.nodes["d2"].op.params["weight"]
    d1 = x @ w1.T + network.nodes["d1"].op.params["bias"]
    g_sum = np.ones((3, 2)) @ w2  # L = Σ d2 output: ∂L/∂sum
    g_d1 = g_sum * (d1 > 0) + g_sum  # through the relu, plus the skip
    expected = {("sum", "d2", 0): g_sum, ("r", "sum", 0): g_sum, ("d1", "sum", 1): g_sum,
                ("d1", "r", 0): g_sum * (d1 > 0), ("x", "d1", 0): g_d1 @ w1}
    session.run_to_end_of_phase()
    session.run_to_end_of_phase()
    norms = session.wire_gradient_norms()
    assert set(norms) == set(expected)
    for key, grad in expected.items():
        assert norms[key] == pytest.approx(np.linalg.norm(grad), rel=1e-12)


def test_wires_light_up_as_their_consumer_steps_back():
    session = StepSession(residual_network(), {"x": np.ones((2, 4))})
    session.run_to_end_of_phase()
    session.step_forward()  # d2
    assert set(session.wire_gradient_norms()) == {("sum", "d2", 0)}
    session.step_forward()  # sum
    assert set(session.wire_gradient_norms()) == {("sum", "d2", 0), ("r", "sum", 0),
                                                  ("d1", "sum", 1)}


def test_wire_norms_match_torch_on_the_tiny_cnn(cnn):
    network = cnn.network
    leaves = {"x": torch.tensor(cnn.feeds["x"], requires_grad=True)}
    params = {n.id: {k: torch.tensor(v) for k, v in n.op.params.items()} for n in network.order}
    targets = {"loss": torch.tensor(cnn.targets["loss"])}
    outputs = run_graph(network, leaves, params, {}, targets)
    ids = [i for i in outputs if outputs[i].requires_grad]
    grads = dict(zip(ids, torch.autograd.grad(total_loss(network, outputs),
                                              [outputs[i] for i in ids])))
    cnn.seek(len(cnn.steps) - 1)
    norms = cnn.wire_gradient_norms()
    # Every node of this chain has one consumer: the wire carries its whole ∂L/∂out.
    assert len(norms) == len(network.order) - 1
    for (source, consumer, port), norm in norms.items():
        assert network.nodes[consumer].inputs[port] == source
        assert norm == pytest.approx(float(torch.linalg.norm(grads[source])), rel=1e-9)


@pytest.fixture(scope="module")
def dilated() -> StepSession:
    return example_session("dilated_convolutions", batch=2)


def test_receptive_boxes_of_the_dilated_stack_grow_3_7_15(dilated):
    nodes = {n["id"]: n for n in example_json("dilated_convolutions")["nodes"]}
    assert nodes["x"]["params"]["shape"] == [1, 32, 32]
    for node, size in (("dil1", 3), ("dil2", 7), ("dil3", 15)):
        top, left, height, width = dilated.receptive_box(node, 16, 16)
        assert (height, width) == (size, size)
        assert (top, left) == (16 - size // 2, 16 - size // 2)  # centred on the unit


def test_a_box_at_the_corner_is_clipped_to_the_image(dilated):
    assert dilated.receptive_box("dil3", 0, 0) == (0, 0, 8, 8)
    assert dilated.receptive_box("dil3", 31, 31) == (24, 24, 8, 8)


@pytest.mark.parametrize("node", ["dil1", "dil2", "dil3", "plain3"])
def test_effective_field_lies_inside_the_theoretical_box(dilated, node):
    field = dilated.effective_receptive_field(node, 1, 2, 16, 16, "x")
    assert field.shape == (1, 32, 32) and np.all(field >= 0)
    top, left, height, width = dilated.receptive_box(node, 16, 16)
    inside = np.zeros_like(field, dtype=bool)
    inside[:, top:top + height, left:left + width] = True
    assert field[inside].max() > 0
    assert np.all(field[~inside] == 0)


def test_effective_field_matches_torch_and_leaves_the_session_alone(dilated):
    network = dilated.network
    before = dilated.state(), {n.id: n.op.grads for n in network.order}
    field = dilated.effective_receptive_field("dil2", 0, 1, 10, 20)
    assert dilated.state() == before[0]
    assert all(n.op.grads is before[1][n.id] for n in network.order)
    leaf = torch.tensor(dilated.feeds["x"], requires_grad=True)
    params = {n.id: {k: torch.tensor(v) for k, v in n.op.params.items()} for n in network.order}
    outputs = run_graph(network, {"x": leaf}, params, {}, {})
    outputs["dil2"][0, 1, 10, 20].backward()
    np.testing.assert_allclose(field, leaf.grad[0].abs().numpy(), atol=1e-12)


def test_no_box_for_a_node_without_a_spatial_field(cnn):
    assert cnn.receptive_box("fc", 0, 0) is None
    assert cnn.receptive_box("p1", 1, 1) == (1, 1, 4, 4)


def test_a_session_leaves_the_running_statistics_alone():
    session = every_loss_session()
    bn = session.network.nodes["bn"].op
    assert bn.training
    np.testing.assert_array_equal(bn.buffers["running_mean"], np.zeros(8))
    np.testing.assert_array_equal(bn.buffers["running_var"], np.ones(8))
    assert len(session.steps) == 2 * len(session.network.order)
