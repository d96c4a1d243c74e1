"""Size-dependent code paths give torch's numbers on both sides of the size limit,
and Executor.run walks the graph exactly as the step-by-step forward and backward."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Executor, Network, NodeSpec
from bpviz.engine.ops.activations import SMALL

torch = pytest.importorskip("torch")
F = torch.nn.functional

TORCH = {"relu": F.relu, "sigmoid": torch.sigmoid,
         "leaky_relu": lambda t, slope: F.leaky_relu(t, slope)}
SIZES = {"small": (4, 5), "large": (3, SMALL)}


def both(op_name, z, gy, **hp):
    op = OPS[op_name](**hp)
    u = op.forward(z)
    (dz,) = op.backward(gy)
    tz = torch.tensor(z, requires_grad=True)
    tu = TORCH[op_name](tz, *hp.values())
    (tdz,) = torch.autograd.grad(tu, [tz], torch.tensor(gy))
    return (u, dz), (tu.detach().numpy(), tdz.numpy())


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("op_name,hp", [("relu", {}), ("sigmoid", {}),
                                        ("leaky_relu", {"slope": 0.1}),
                                        ("leaky_relu", {"slope": 0.0}),
                                        ("leaky_relu", {"slope": 2.5})])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activations_match_torch_small_and_large(op_name, hp, size, dtype):
    rng = np.random.default_rng(0)
    z = (rng.standard_normal(SIZES[size]) * 30).astype(dtype)  # σ saturates both ways
    z.flat[:3] = 0.0
    gy = rng.standard_normal(z.shape).astype(dtype)
    (u, dz), (tu, tdz) = both(op_name, z, gy, **hp)
    assert u.dtype == dz.dtype == dtype
    rtol = 1e-4 if dtype == np.float32 else 1e-13  # σ rounds differently; the rest is exact
    # atol: torch's float32 σ gives 0 where ours is a subnormal (< 1e-37)
    np.testing.assert_allclose(u, tu, rtol=rtol, atol=1e-37)
    np.testing.assert_allclose(dz, tdz, rtol=rtol, atol=1e-37)


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("op_name,hp", [("relu", {}), ("leaky_relu", {"slope": 0.1})])
def test_infinite_upstream_gradients_match_torch(op_name, hp, size):
    rng = np.random.default_rng(1)
    z = rng.standard_normal(SIZES[size]).astype(np.float32)
    gy = rng.standard_normal(z.shape).astype(np.float32)
    gy.flat[::7] = np.inf
    gy.flat[1::11] = -np.inf
    (_, dz), (_, tdz) = both(op_name, z, gy, **hp)
    np.testing.assert_array_equal(dz, tdz)


def test_nan_passes_through_like_torch():
    z = np.array([[np.nan, 1.0, -1.0]], np.float32)
    for op_name, hp in [("relu", {}), ("sigmoid", {}), ("leaky_relu", {"slope": 0.2})]:
        (u, _), (tu, _) = both(op_name, z, np.ones_like(z), **hp)
        np.testing.assert_allclose(u, tu, rtol=1e-6)  # NaN where torch has NaN


def chain_network() -> Network:
    rng = np.random.default_rng(2)
    nodes = [NodeSpec("x", OPS["input"](shape=[3, 6, 6])),
             NodeSpec("c", OPS["conv2d"](out_channels=4, kernel=3, padding=1), ["x"]),
             NodeSpec("r", OPS["relu"](), ["c"]),
             NodeSpec("sum", OPS["add"](), ["r", "c"]),
             NodeSpec("p", OPS["maxpool2d"](kernel=2), ["sum"]),
             NodeSpec("f", OPS["flatten"](), ["p"]),
             NodeSpec("d", OPS["dense"](units=5), ["f"]),
             NodeSpec("loss", OPS["softmax_cross_entropy"](), ["d"])]
    nodes[1].op.init_params([(3, 6, 6)], rng, np.float64, "he")
    nodes[6].op.init_params([(36,)], rng, np.float64, "glorot")
    return Network(nodes)


def test_run_gives_what_the_step_by_step_walk_gives():
    rng = np.random.default_rng(3)
    feeds = {"x": rng.standard_normal((4, 3, 6, 6))}
    targets = {"loss": np.array([0, 4, 2, 1])}
    stepped = Executor(chain_network())
    list(stepped.forward(feeds, targets))
    steps = list(stepped.backward())
    fast = Executor(chain_network())
    loss = fast.run(feeds, targets)
    assert loss == stepped.loss
    for node_id in stepped.values:
        np.testing.assert_array_equal(fast.values[node_id], stepped.values[node_id])
        np.testing.assert_array_equal(fast.grads[node_id], stepped.grads[node_id])
    for step in steps:
        op = fast.network.nodes[step.node].op
        assert set(op.grads) == set(step.grad_params)
        for name, grad in step.grad_params.items():
            np.testing.assert_array_equal(op.grads[name], grad)
    assert [s.node for s in steps] == [n.id for n in reversed(fast.network.order)]


def test_steps_are_complete_and_keep_their_values():
    executor = Executor(chain_network())
    rng = np.random.default_rng(4)
    feeds = {"x": rng.standard_normal((2, 3, 6, 6))}
    forward = list(executor.forward(feeds, {"loss": np.array([1, 3])}))
    backward = list(executor.backward())
    saved = [(s.output.copy(), s.grad_output.copy()) for s in backward]
    executor.run({"x": rng.standard_normal((2, 3, 6, 6))}, {"loss": np.array([0, 0])})
    for step, (output, grad) in zip(backward, saved):
        np.testing.assert_array_equal(step.output, output)
        np.testing.assert_array_equal(step.grad_output, grad)
    conv = next(s for s in backward if s.node == "c")
    assert conv.phase == "backward" and conv.total == len(forward) == 8
    assert conv.formula and conv.op == "conv2d" and len(conv.inputs) == 1
    assert [c[:2] for c in conv.contributions] == [("sum", 1), ("r", 0)]
    assert set(conv.grad_params) == {"weight", "bias"} and len(conv.grad_inputs) == 1
    loss = next(s for s in backward if s.node == "loss")
    assert loss.target is not None and loss.contributions[0][:2] == ("L", 0)
