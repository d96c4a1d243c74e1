"""compare_network: the engine against torch autograd, whole graphs at a time."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec, Op
from bpviz.oracle import OracleError, compare_network

DTYPES = [np.float32, np.float64]


def build(layers, seed: int = 0, dtype=np.float64) -> Network:
    """layers: (id, op name, hp, input ids); parameters random, biases non-zero."""
    rng = np.random.default_rng(seed)
    nodes, shapes = [], {}
    for node_id, name, hp, inputs in layers:
        op = OPS[name](**hp)
        in_shapes = [shapes[i] for i in inputs]
        shapes[node_id] = op.infer_shape(in_shapes)
        op.init_params(in_shapes, rng, dtype, "glorot")
        for store in (op.params, op.buffers):
            for key, value in store.items():
                if key != "weight":
                    fresh = rng.standard_normal(value.shape) * 0.5
                    if key == "running_var":
                        fresh = np.abs(fresh) + 0.5
                    store[key] = fresh.astype(dtype)
        nodes.append(NodeSpec(node_id, op, list(inputs)))
    return Network(nodes)


def feed(network: Network, batch: int, seed: int = 1, dtype=np.float64) -> dict:
    rng = np.random.default_rng(seed)
    return {i: rng.standard_normal((batch, *network.nodes[i].op.hp["shape"])).astype(dtype)
            for i in network.inputs}


def assert_ok(result) -> None:
    bad = [(n.id, n.failures, n.forward_err, n.grad_err, n.param_grad_err)
           for n in result.failed]
    assert result.ok and not bad, bad


MLP = [("x", "input", {"shape": [5]}, []),
       ("h", "dense", {"units": 4}, ["x"]),
       ("y", "dense", {"units": 3}, ["h"])]

FORK = [("x", "input", {"shape": [2, 3]}, []),
        ("f", "flatten", {}, ["x"]),
        ("h", "dense", {"units": 4}, ["f"]),
        ("a", "dense", {"units": 2}, ["h"]),
        ("b", "dense", {"units": 3, "bias": False}, ["h"]),
        ("c", "dense", {"units": 1}, ["h"])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layers", [MLP, FORK], ids=["mlp", "fork_three_sinks"])
def test_dense_graphs_agree(layers, dtype):
    network = build(layers, dtype=dtype)
    result = compare_network(network, feed(network, 4, dtype=dtype), None)
    assert_ok(result)
    assert result.dtype == np.dtype(dtype).name
    assert result.tolerance == (1e-4 if dtype == np.float32 else 1e-9)
    assert result.loss_engine == pytest.approx(result.loss_torch, rel=1e-5)
    x = result.node("x")
    assert x.grad_err is not None and x.param_grad_err is None
    assert result.node("h").param_grad_err is not None


def test_fork_with_a_lost_branch_is_caught(monkeypatch):
    network = build(FORK)
    op = network.nodes["b"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 0.0))
    result = compare_network(network, feed(network, 3), None)
    # h feeds three consumers; b's share of ∂L/∂h is now missing.
    assert result.node("b").ok
    assert "grad" in result.node("h").failures


def test_frozen_parameters_are_not_compared():
    network = build(MLP)
    network.nodes["h"].op.trainable = False
    result = compare_network(network, feed(network, 2), None)
    assert_ok(result)
    assert result.node("h").param_grad_err is None
    assert result.node("y").param_grad_err is not None


def test_network_is_left_as_found():
    network = build(MLP)
    before = {k: v.copy() for k, v in network.parameters().items()}
    compare_network(network, feed(network, 2), None)
    for key, value in network.parameters().items():
        np.testing.assert_array_equal(value, before[key])


# -- the comparison can fail ---------------------------------------------------

def _scaled(method, factor: float):
    def wrapped(*args):
        out = method(*args)
        if isinstance(out, tuple):
            return tuple(None if g is None else g * factor for g in out)
        return out * factor
    return wrapped


@pytest.mark.parametrize("dtype", DTYPES)
def test_wrong_input_gradient_is_caught(monkeypatch, dtype):
    network = build(MLP, dtype=dtype)
    op = network.nodes["y"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 1.001))
    result = compare_network(network, feed(network, 4, dtype=dtype), None)
    assert not result.ok
    # y's backward hands a wrong ∂L/∂h to h: h and everything before it disagree.
    assert result.node("y").ok
    assert "grad" in result.node("h").failures
    assert "param weight" in result.node("h").failures
    assert not result.node("x").ok


@pytest.mark.parametrize("dtype", DTYPES)
def test_wrong_parameter_gradient_is_caught(monkeypatch, dtype):
    network = build(MLP, dtype=dtype)
    op = network.nodes["y"].op
    original = op.backward

    def backward(gy):
        result = original(gy)
        op.grads["bias"] = op.grads["bias"] * 1.001
        return result

    monkeypatch.setattr(op, "backward", backward)
    result = compare_network(network, feed(network, 4, dtype=dtype), None)
    assert result.node("y").failures == ["param bias"]
    assert [n.id for n in result.failed] == ["y"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_wrong_forward_is_caught(monkeypatch, dtype):
    network = build(MLP, dtype=dtype)
    op = network.nodes["h"].op
    monkeypatch.setattr(op, "forward", _scaled(op.forward, 1.001))
    result = compare_network(network, feed(network, 4, dtype=dtype), None)
    assert "forward" in result.node("h").failures
    assert result.node("h").forward_err > 0
    assert not result.node("y").ok
    assert result.loss_engine != result.loss_torch


def test_nan_never_agrees():
    network = build(MLP)
    feeds = feed(network, 2)
    feeds["x"][0, 0] = np.nan
    result = compare_network(network, feeds, None, tolerance=1.0)
    assert not result.ok
    assert np.isnan(result.node("x").forward_err)


def test_tolerance_can_be_given(monkeypatch):
    network = build(MLP)
    op = network.nodes["y"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 1.001))
    assert not compare_network(network, feed(network, 4), None).ok
    assert compare_network(network, feed(network, 4), None, tolerance=0.1).ok


# -- errors ---------------------------------------------------------------------

class Mystery(Op):
    op_name = "mystery"

    def infer_shape(self, in_shapes):
        return in_shapes[0]

    def forward(self, *xs):
        return xs[0].copy()

    def backward(self, gy):
        return (gy,)


def test_unknown_op_is_named():
    network = build(MLP)
    nodes = [*network.order, NodeSpec("m", Mystery(), ["y"])]
    with pytest.raises(OracleError, match="mystery"):
        compare_network(Network(nodes), feed(network, 2), None)


def test_feeds_must_share_a_float_dtype():
    network = build(MLP)
    with pytest.raises(OracleError, match="float32 or float64"):
        compare_network(network, {"x": np.ones((2, 5), np.int64)}, None)


def test_importing_the_package_does_not_import_torch():
    code = "import sys, bpviz.oracle; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
