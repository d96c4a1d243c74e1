"""The executor's walk: order, steps, fan-out sums, early stops."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Executor, Network, NodeSpec
from bpviz.engine.executor import GraphStructureError


def residual_network() -> Network:
    """x → d1 → (relu, and the skip) → add → d2: d1 is a fork with two consumers."""
    rng = np.random.default_rng(3)
    nodes = [NodeSpec("x", OPS["input"](shape=[4])),
             NodeSpec("d1", OPS["dense"](units=4), ["x"]),
             NodeSpec("r", OPS["relu"](), ["d1"]),
             NodeSpec("sum", OPS["add"](), ["r", "d1"]),
             NodeSpec("d2", OPS["dense"](units=2), ["sum"])]
    for node in nodes[1:]:
        if node.op.op_name == "dense":
            node.op.init_params([(4,)], rng, np.float64, "glorot")
    return Network(nodes)


def test_forward_visits_topological_order_and_backward_the_reverse():
    executor = Executor(residual_network())
    x = np.random.default_rng(0).standard_normal((3, 4))
    forward = [step.node for step in executor.forward({"x": x})]
    backward = [step.node for step in executor.backward()]
    assert forward == ["x", "d1", "r", "sum", "d2"]
    assert backward == forward[::-1]


def test_a_fork_shows_each_contribution_and_their_sum():
    executor = Executor(residual_network())
    executor.run({"x": np.random.default_rng(0).standard_normal((3, 4))}, backward=False)
    steps = {step.node: step for step in executor.backward()}
    fork = steps["d1"]
    assert sorted((consumer, port) for consumer, port, _ in fork.contributions) == [
        ("r", 0), ("sum", 1)]
    total = sum(grad for _, _, grad in fork.contributions)
    np.testing.assert_array_equal(fork.grad_output, total)
    # d1 = W x + b with L = Σ d2-output: ∂L/∂x must equal (∂L/∂d1) W, by hand.
    np.testing.assert_allclose(steps["x"].grad_output,
                               fork.grad_output @ executor.network.nodes["d1"].op.params["weight"])
    assert set(fork.grad_params) == {"weight", "bias"}


def test_an_evaluation_lets_go_of_what_no_later_node_reads():
    network = residual_network()
    x = np.random.default_rng(1).standard_normal((3, 4))
    evaluation = Executor(network, keep={"d2"})
    evaluation.run({"x": x}, backward=False)
    assert set(evaluation.values) == {"d2"}  # the sink is kept, its inputs are gone
    assert not any(name.startswith("_") and isinstance(value, np.ndarray)
                   for node in network.order for name, value in vars(node.op).items())
    # d2(r(d1) + d1) with d1 = W1 x + b1, by hand
    ops = network.nodes
    d1 = x @ ops["d1"].op.params["weight"].T + ops["d1"].op.params["bias"]
    by_hand = (np.maximum(d1, 0) + d1) @ ops["d2"].op.params["weight"].T \
        + ops["d2"].op.params["bias"]
    np.testing.assert_allclose(evaluation.values["d2"], by_hand)
    assert evaluation.loss == pytest.approx(by_hand.sum())
    everything = Executor(network)
    everything.run({"x": x}, backward=False)
    assert set(everything.values) == {"x", "d1", "r", "sum", "d2"}  # keep=None keeps all


def test_a_caller_can_stop_after_any_node():
    executor = Executor(residual_network())
    walk = executor.forward({"x": np.ones((1, 4))})
    first, second = next(walk), next(walk)
    assert (first.node, second.node) == ("x", "d1")
    assert set(executor.values) == {"x", "d1"}


def test_a_cycle_is_reported_with_its_nodes():
    nodes = [NodeSpec("x", OPS["input"](shape=[2])),
             NodeSpec("a", OPS["add"](), ["x", "b"]),
             NodeSpec("b", OPS["relu"](), ["a"])]
    with pytest.raises(GraphStructureError, match="cycle through a, b"):
        Network(nodes)


def test_backward_before_forward_is_refused():
    with pytest.raises(RuntimeError, match="forward"):
        next(Executor(residual_network()).backward())
