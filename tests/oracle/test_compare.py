"""compare_network: the engine against torch autograd, whole graphs at a time."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.oracle import OracleError, compare_network

DTYPES = [np.float32, np.float64]


def build(layers, seed: int = 0, dtype=np.float64) -> Network:
    """layers: (id, op name, hp, input ids).

    Parameters come from op.init_params; those it sets to a constant (biases,
    batchnorm's γ, β and running statistics) are replaced by random values,
    so that zeros and ones cannot hide a bug.
    """
    rng = np.random.default_rng(seed)
    nodes, shapes = [], {}
    for node_id, name, hp, inputs in layers:
        op = OPS[name](**hp)
        in_shapes = [shapes[i] for i in inputs]
        shapes[node_id] = op.infer_shape(in_shapes)
        op.init_params(in_shapes, rng, dtype, "glorot")
        for store in (op.params, op.buffers):
            for key, value in store.items():
                if value.size and np.all(value == value.flat[0]):
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


def test_result_names_dtype_tolerance_and_loss():
    network = build(MLP, dtype=np.float32)
    result = compare_network(network, feed(network, 4, dtype=np.float32), None)
    assert_ok(result)
    assert (result.dtype, result.tolerance) == ("float32", 1e-4)
    assert result.loss_engine == pytest.approx(result.loss_torch, rel=1e-5)
    x, h = result.node("x"), result.node("h")
    assert x.grad_err is not None and x.param_grad_err is None and x.buffer_err is None
    assert h.param_grad_err is not None and h.param_grad_scale >= 1


def test_fork_with_a_lost_branch_is_caught(monkeypatch):
    network = build(FORK)
    op = network.nodes["b"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 0.0))
    result = compare_network(network, feed(network, 3), None)
    # h feeds three consumers; b's share of ∂L/∂h is now missing.
    assert result.node("b").ok
    assert "grad" in result.node("h").failures


# -- every op family, float32 and float64 --------------------------------------

def make_targets(network: Network, batch: int, seed: int = 2, dtype=np.float64) -> dict:
    rng, shapes, targets = np.random.default_rng(seed), {}, {}
    for node in network.order:
        shapes[node.id] = node.op.infer_shape([shapes[i] for i in node.inputs])
    for loss_id in network.losses:
        node = network.nodes[loss_id]
        shape = (batch, *shapes[node.inputs[0]])
        name = node.op.op_name
        if name == "softmax_cross_entropy":
            targets[loss_id] = rng.integers(0, shape[1], batch).astype(np.int64)
        elif name == "bce":
            targets[loss_id] = rng.uniform(size=shape).astype(dtype)
        elif name == "bce_with_logits":
            targets[loss_id] = (rng.random(shape) > 0.5).astype(dtype)
        else:
            targets[loss_id] = rng.standard_normal(shape).astype(dtype)
    return targets


def check(layers, dtype, batch: int = 4, training: bool = True, seed: int = 0):
    network = build(layers, seed=seed, dtype=dtype)
    network.set_training(training)
    result = compare_network(network, feed(network, batch, dtype=dtype),
                             make_targets(network, batch, dtype=dtype))
    assert_ok(result)
    return network, result


RESIDUAL = [("x", "input", {"shape": [6]}, []),
            ("d1", "dense", {"units": 6}, ["x"]),
            ("t", "tanh", {}, ["d1"]),
            ("d2", "dense", {"units": 6}, ["t"]),
            ("r", "add", {}, ["d1", "d2"]),          # d1 forks: into tanh and into add
            ("lr", "leaky_relu", {"slope": 0.2}, ["r"]),
            ("o", "dense", {"units": 3}, ["lr"]),
            ("L", "mse", {}, ["o"])]

CONCAT = [("x", "input", {"shape": [4]}, []),
          ("a", "dense", {"units": 3}, ["x"]),
          ("s", "sigmoid", {}, ["a"]),
          ("b", "dense", {"units": 2}, ["x"]),
          ("c", "concat", {}, ["s", "b", "x"]),
          ("o", "dense", {"units": 2}, ["c"]),
          ("p", "sigmoid", {}, ["o"]),
          ("L", "bce", {}, ["p"])]

SOFTMAX = [("x", "input", {"shape": [5]}, []),
           ("d", "dense", {"units": 4}, ["x"]),
           ("sm", "softmax", {}, ["d"]),
           ("o", "dense", {"units": 3}, ["sm"]),
           ("L", "softmax_cross_entropy", {"reduction": "sum"}, ["o"])]

CONV = [("x", "input", {"shape": [2, 9, 9]}, []),
        ("c", "conv2d", {"out_channels": 3, "kernel": 3, "stride": 2, "padding": 1,
                         "dilation": 2}, ["x"]),
        ("r", "relu", {}, ["c"]),
        ("mp", "maxpool2d", {"kernel": 2, "stride": 1, "padding": 1}, ["r"]),
        ("f", "flatten", {}, ["mp"]),
        ("o", "dense", {"units": 3}, ["f"]),
        ("L", "softmax_cross_entropy", {}, ["o"])]

CONV_RECT = [("x", "input", {"shape": [3, 8, 7]}, []),
             ("c", "conv2d", {"out_channels": 2, "kernel": [3, 2], "stride": [1, 2],
                              "padding": [2, 1], "dilation": [2, 1], "bias": False}, ["x"]),
             ("t", "tanh", {}, ["c"])]  # no loss: L sums t

POOL = [("x", "input", {"shape": [2, 7, 6]}, []),
        ("ap", "avgpool2d", {"kernel": 3, "stride": 2, "padding": 1}, ["x"]),
        ("mp", "maxpool2d", {"kernel": [3, 2], "padding": [1, 1]}, ["ap"]),
        ("gap", "global_avgpool", {}, ["mp"]),
        ("o", "dense", {"units": 2}, ["gap"]),
        ("L", "mse", {"reduction": "sum"}, ["o"])]

RESNET = [("x", "input", {"shape": [2, 6, 6]}, []),
          ("c0", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 1}, ["x"]),
          ("r0", "relu", {}, ["c0"]),
          ("c1", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 1}, ["r0"]),
          ("bn", "batchnorm", {}, ["c1"]),
          ("r1", "relu", {}, ["bn"]),
          ("c2", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 2, "dilation": 2},
           ["r1"]),
          ("sum", "add", {}, ["r0", "c2"]),        # r0 forks: into c1 and into add
          ("r2", "relu", {}, ["sum"]),
          ("mp", "maxpool2d", {"kernel": 2}, ["r2"]),  # ReLU zeros: ties in windows
          ("gap", "global_avgpool", {}, ["mp"]),
          ("o", "dense", {"units": 4}, ["gap"]),
          ("L", "softmax_cross_entropy", {}, ["o"])]

DENSENET = [("x", "input", {"shape": [2, 5, 5]}, []),
            ("c1", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 1}, ["x"]),
            ("t", "tanh", {}, ["c1"]),
            ("cat", "concat", {}, ["x", "t"]),
            ("c2", "conv2d", {"out_channels": 2, "kernel": 1}, ["cat"]),
            ("sm", "softmax", {}, ["c2"]),
            ("L", "mse", {}, ["sm"])]

GRAPHS = {"mlp": MLP, "fork": FORK, "residual": RESIDUAL, "concat": CONCAT,
          "softmax": SOFTMAX, "conv_dilated_strided": CONV, "conv_rectangular": CONV_RECT,
          "pool_padded": POOL, "resnet_block": RESNET, "densenet_block": DENSENET}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(GRAPHS))
def test_graphs_agree(name, dtype):
    _, result = check(GRAPHS[name], dtype)
    assert all(n.grad_err is not None for n in result.nodes)


def loss_head(loss: str, reduction: str) -> list:
    head = [("x", "input", {"shape": [5]}, []), ("o", "dense", {"units": 3}, ["x"])]
    if loss == "bce":
        head.append(("p", "sigmoid", {}, ["o"]))
    return [*head, ("L", loss, {"reduction": reduction}, [head[-1][0]])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"])
def test_each_loss_agrees(loss, reduction, dtype):
    _, result = check(loss_head(loss, reduction), dtype, batch=5)
    assert result.loss_engine == pytest.approx(result.loss_torch, rel=1e-5)
    assert result.node("L").grad_err == 0  # the seed ∂L/∂L = 1


BN_FLAT = [("x", "input", {"shape": [5]}, []),
           ("d", "dense", {"units": 4}, ["x"]),
           ("bn", "batchnorm", {"momentum": 0.3}, ["d"]),
           ("r", "relu", {}, ["bn"]),
           ("o", "dense", {"units": 2}, ["r"]),
           ("L", "mse", {}, ["o"])]

BN_SPATIAL = [("x", "input", {"shape": [3, 4, 4]}, []),
              ("bn", "batchnorm", {"eps": 1e-3}, ["x"]),
              ("f", "flatten", {}, ["bn"]),
              ("o", "dense", {"units": 2}, ["f"])]  # no loss: L sums o


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("layers", [BN_FLAT, BN_SPATIAL], ids=["flat", "spatial"])
def test_batchnorm_agrees(layers, training, dtype):
    network = build(layers, dtype=dtype)
    network.set_training(training)
    op = network.nodes["bn"].op
    arrays = {**network.parameters(), **op.buffers}
    before = {k: v.copy() for k, v in arrays.items()}
    result = compare_network(network, feed(network, 4, dtype=dtype),
                             make_targets(network, 4, dtype=dtype))
    assert_ok(result)
    bn = result.node("bn")
    assert bn.buffer_err is not None and bn.param_grad_err is not None
    # The engine moved the running statistics (in training); compare put them
    # back, into the same arrays.
    for key, value in {**network.parameters(), **op.buffers}.items():
        assert value is arrays[key]
        np.testing.assert_array_equal(value, before[key])


def test_batchnorm_without_a_loss_has_a_zero_input_gradient_up_to_rounding():
    # Σ of batchnorm's outputs does not depend on x: ∂L/∂x is rounding noise.
    layers = [("x", "input", {"shape": [3]}, []), ("bn", "batchnorm", {}, ["x"])]
    for dtype in DTYPES:
        _, result = check(layers, dtype, batch=6)
        assert result.node("x").grad_err < 1e-5


def test_wrong_running_statistics_are_caught(monkeypatch):
    network = build(BN_FLAT)
    op = network.nodes["bn"].op
    original = op.forward

    def forward(*xs):
        out = original(*xs)
        op.buffers["running_mean"] = op.buffers["running_mean"] + 1e-6
        return out

    monkeypatch.setattr(op, "forward", forward)
    result = compare_network(network, feed(network, 4), make_targets(network, 4))
    assert result.node("bn").failures == ["buffer running_mean"]


def test_frozen_parameters_are_not_compared_but_statistics_are():
    network = build(BN_FLAT)
    for node_id in ("d", "bn"):
        network.nodes[node_id].op.trainable = False
    result = compare_network(network, feed(network, 4), make_targets(network, 4))
    assert_ok(result)
    assert result.node("d").param_grad_err is None and result.node("o").param_grad_err
    bn = result.node("bn")
    assert bn.param_grad_err is None and bn.buffer_err is not None


DROPOUT = [("x", "input", {"shape": [6]}, []),
           ("d", "dense", {"units": 8}, ["x"]),
           ("r", "relu", {}, ["d"]),
           ("dr", "dropout", {"p": 0.5}, ["r"]),
           ("o", "dense", {"units": 2}, ["dr"]),
           ("L", "bce_with_logits", {}, ["o"])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_dropout_agrees(training, dtype):
    network, _ = check(DROPOUT, dtype, batch=6, training=training)
    mask = network.nodes["dr"].op.mask
    if training:
        assert np.any(mask == 0) and np.any(mask == 2)


def test_dropout_at_a_fork_in_eval_keeps_gradients_apart():
    # Eval dropout is an identity: its ∂L/∂out must not be confused with x's.
    layers = [("x", "input", {"shape": [3]}, []),
              ("dr", "dropout", {}, ["x"]),
              ("a", "dense", {"units": 2}, ["dr"]),
              ("b", "dense", {"units": 2}, ["x"])]
    check(layers, np.float64, training=False)


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
    assert compare_network(network, feed(network, 4, dtype=dtype), None, tolerance=0.1).ok


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("culprit, victim", [("c1", "r0"), ("bn", "c1"), ("mp", "r2")])
def test_wrong_gradient_deep_in_a_resnet_block_is_caught(monkeypatch, culprit, victim, dtype):
    network = build(RESNET, dtype=dtype)
    op = network.nodes[culprit].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 1.001))
    result = compare_network(network, feed(network, 4, dtype=dtype),
                             make_targets(network, 4, dtype=dtype))
    assert result.node(culprit).ok and not result.ok
    assert "grad" in result.node(victim).failures


# Eight sigmoid layers: ∂L/∂out of the first is some five orders of magnitude
# below the loss's, the vanishing-gradient picture.
DEEP_SIGMOID = [("x", "input", {"shape": [4]}, [])]
for _k in range(8):
    DEEP_SIGMOID += [(f"d{_k}", "dense", {"units": 4}, [DEEP_SIGMOID[-1][0]]),
                     (f"s{_k}", "sigmoid", {}, [f"d{_k}"])]
DEEP_SIGMOID.append(("L", "mse", {}, ["s7"]))


@pytest.mark.parametrize("dtype", DTYPES)
def test_a_small_error_in_a_vanishing_gradient_is_caught_on_its_node(monkeypatch, dtype):
    network = build(DEEP_SIGMOID, dtype=dtype)
    clean = compare_network(network, feed(network, 4, dtype=dtype),
                            make_targets(network, 4, dtype=dtype))
    assert_ok(clean)
    tiny = float(np.max(np.abs(_torch_pass(network, dtype).grads["s0"])))
    assert tiny < 1e-3  # every entry far below the old absolute floor of tol
    op = network.nodes["d1"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 1.001))
    result = compare_network(network, feed(network, 4, dtype=dtype),
                             make_targets(network, 4, dtype=dtype))
    assert "grad" in result.node("s0").failures
    assert "param weight" in result.node("d0").failures


def _torch_pass(network: Network, dtype, seed: int = 1):
    """Torch's values and gradients for the test's batch (independent of the engine)."""
    from bpviz.oracle.compare import _snapshot
    from bpviz.oracle.torch_run import TorchPass

    feeds = feed(network, 4, seed=seed, dtype=dtype)
    run = TorchPass(network, feeds, make_targets(network, 4, dtype=dtype),
                    _snapshot(network, "buffers"), np.dtype(dtype))
    run.backward()
    return run


CONV_BN = [("x", "input", {"shape": [2, 6, 6]}, []),
           ("c", "conv2d", {"out_channels": 3, "kernel": 3, "padding": 1}, ["x"]),
           ("bn", "batchnorm", {}, ["c"]),
           ("f", "flatten", {}, ["bn"]),
           ("o", "dense", {"units": 3}, ["f"]),
           ("L", "softmax_cross_entropy", {}, ["o"])]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seed", range(4))
def test_a_bias_before_batchnorm_has_a_zero_gradient_up_to_rounding_and_agrees(seed, dtype):
    # In exact arithmetic ∂L/∂b = 0 (batchnorm subtracts the channel mean): every
    # entry is rounding noise, which the allowance for torch's own noise absorbs.
    network = build(CONV_BN, seed=seed, dtype=dtype)
    grad_w = _torch_pass(network, dtype, seed).param_grads["c"]
    assert np.max(np.abs(grad_w["bias"])) < 1e-5 * np.max(np.abs(grad_w["weight"]))
    result = compare_network(network, feed(network, 4, seed=seed, dtype=dtype),
                             make_targets(network, 4, dtype=dtype))
    assert_ok(result)


def test_data_beyond_float32_fall_back_to_the_floored_scale():
    network = build(MLP, dtype=np.float64)
    feeds = feed(network, 3)
    feeds["x"] *= 1e39  # the float32 run overflows: no noise estimate
    result = compare_network(network, feeds, None)
    assert_ok(result)


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


# -- errors ---------------------------------------------------------------------

class Mystery(OPS["relu"]):  # a ReLU by another name, not registered
    op_name = "mystery"


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
