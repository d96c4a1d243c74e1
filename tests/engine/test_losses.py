"""Activations, merges, batchnorm, dropout and losses beyond the spec table:
running statistics, dropout masks, error messages, stability and dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpviz.engine import OPS, Executor, HyperError, Network, NodeSpec, ShapeError
from bpviz.engine.gradcheck import check_op
from tests.engine.op_specs import SPECS  # noqa: F401  (first: it imports the spec modules)
from tests.engine.specs_pointwise import POINTWISE_SPECS
from tests.engine.test_ops_vs_torch import build

torch = pytest.importorskip("torch")
F = torch.nn.functional

NEW_OPS = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "add", "concat", "batchnorm",
           "dropout", "mse", "bce", "bce_with_logits", "softmax_cross_entropy"]
LOSSES = ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"]


@pytest.mark.parametrize("name", NEW_OPS)
def test_registered_with_formula_and_summary(name):
    cls = OPS[name]
    assert cls.op_name == name
    assert cls.formula and cls.summary and "\n" not in cls.summary


@pytest.mark.parametrize("name", LOSSES)
def test_losses_are_losses(name):
    op = OPS[name]()
    assert op.is_loss and op.min_inputs == op.max_inputs == 1
    assert op.geometry() is None
    assert op.hp["reduction"] == "mean"
    with pytest.raises(HyperError):
        OPS[name](reduction="max")


# -- every spec: no mutation, dtypes preserved ------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", POINTWISE_SPECS, ids=lambda s: s.id)
def test_inputs_untouched_and_dtypes_kept(spec, dtype):
    op, xs, target = build(spec, dtype)
    saved = [x.copy() for x in xs]
    saved_target = None if target is None else target.copy()
    extra = (target,) if target is not None else ()
    y = op.forward(*xs, *extra)
    assert isinstance(y, np.ndarray) and y.dtype == dtype
    upstream = np.random.default_rng(1).standard_normal(y.shape).astype(dtype)
    saved_upstream = upstream.copy()
    grads = op.backward(upstream)
    assert len(grads) == len(xs)
    for x, g in zip(xs, grads):
        assert g.shape == x.shape and g.dtype == dtype
    for name, g in op.grads.items():
        assert g.shape == op.params[name].shape and g.dtype == dtype
    for value in op.buffers.values():
        assert value.dtype == dtype
    for x, s in zip(xs, saved):
        np.testing.assert_array_equal(x, s)
    np.testing.assert_array_equal(upstream, saved_upstream)
    if target is not None:
        np.testing.assert_array_equal(target, saved_target)


# -- activations -------------------------------------------------------------


def test_relu_gradient_at_zero_is_zero():
    op = OPS["relu"]()
    x = np.array([[-1.0, 0.0, 2.0]])
    op.forward(x)
    np.testing.assert_array_equal(op.backward(np.ones_like(x))[0], [[0.0, 0.0, 1.0]])


def test_leaky_relu_gradient_at_zero_is_slope():
    op = OPS["leaky_relu"](slope=0.25)
    x = np.array([[-1.0, 0.0, 2.0]], dtype=np.float32)
    np.testing.assert_array_equal(op.forward(x), [[-0.25, 0.0, 2.0]])
    np.testing.assert_array_equal(op.backward(np.ones_like(x))[0], [[0.25, 0.25, 1.0]])
    with pytest.raises(HyperError):
        OPS["leaky_relu"](slope=-0.1)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_softmax_stable_for_huge_inputs(dtype):
    x = np.array([[-1e4, -800.0, -90.0, 0.0, 90.0, 800.0, 1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sig = OPS["sigmoid"]()
        u = sig.forward(x)
        g = sig.backward(np.ones_like(x))[0]
        soft = OPS["softmax"]()
        p = soft.forward(x)
        soft.backward(np.ones_like(x))
    assert np.all(np.isfinite(u)) and np.all(np.isfinite(g)) and np.all(np.isfinite(p))
    # torch's float32 σ(−90) is 0 (e^90 overflows); ours is the subnormal 8e-40.
    np.testing.assert_allclose(u, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-6, atol=1e-30)
    assert u[0, 0] == 0 and u[0, -1] == 1 and u[0, 3] == 0.5


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=20))
def test_sigmoid_matches_torch_everywhere(values):
    x = np.array([values], dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u = OPS["sigmoid"]().forward(x)
    np.testing.assert_allclose(u, torch.sigmoid(torch.tensor(x)).numpy(), rtol=1e-12, atol=1e-300)


def test_softmax_rows_sum_to_one_per_pixel():
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 3)).astype(np.float32)
    p = OPS["softmax"]().forward(x)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


# -- merges ------------------------------------------------------------------


def test_add_shape_error_names_the_shapes():
    op = OPS["add"]()
    with pytest.raises(ShapeError, match="add needs inputs of one shape, got 16×8×8 and 8×8×8"):
        op.infer_shape([(16, 8, 8), (16, 8, 8), (8, 8, 8)])
    with pytest.raises(ShapeError, match="16×8×8 and 8×8×8"):
        op.forward(np.zeros((2, 16, 8, 8)), np.zeros((2, 8, 8, 8)))
    assert op.min_inputs == 2 and op.max_inputs is None


def test_add_gradients_cannot_be_changed_through_one_another():
    op = OPS["add"]()
    a, b, c = np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3))
    np.testing.assert_array_equal(op.forward(a, b, c), np.full((2, 3), 3.0))
    gy = np.arange(6.0).reshape(2, 3)
    grads = op.backward(gy)
    assert len(grads) == 3
    for grad in grads:
        np.testing.assert_array_equal(grad, np.arange(6.0).reshape(2, 3))
        with pytest.raises(ValueError, match="read-only"):
            grad += 1.0  # a consumer writing into one input's gradient must fail loudly
    assert gy.flags.writeable and a.sum() == 6.0


def test_concat_shapes_and_errors():
    op = OPS["concat"]()
    assert op.infer_shape([(2, 5, 5), (3, 5, 5), (1, 5, 5)]) == (6, 5, 5)
    assert op.infer_shape([(4,), (7,)]) == (11,)
    with pytest.raises(ShapeError, match="spatial size.*2×5×5 and 3×4×5"):
        op.infer_shape([(2, 5, 5), (3, 4, 5)])
    with pytest.raises(ShapeError):
        op.infer_shape([(2, 5, 5), (10,)])
    with pytest.raises(ShapeError):
        op.forward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 4)))


def test_concat_backward_splits_by_channel():
    op = OPS["concat"]()
    xs = [np.zeros((2, c, 2, 2)) for c in (1, 3, 2)]
    y = op.forward(*xs)
    gy = np.arange(y.size, dtype=float).reshape(y.shape)
    g1, g2, g3 = op.backward(gy)
    np.testing.assert_array_equal(g1, gy[:, :1])
    np.testing.assert_array_equal(g2, gy[:, 1:4])
    np.testing.assert_array_equal(g3, gy[:, 4:])


# -- batchnorm -----------------------------------------------------------------


def make_batchnorm(shape, dtype, **hp):
    rng = np.random.default_rng(3)
    op = OPS["batchnorm"](**hp)
    op.init_params([shape[1:]], rng, dtype, "he")
    op.params["weight"] = rng.standard_normal(shape[1]).astype(dtype)
    op.params["bias"] = rng.standard_normal(shape[1]).astype(dtype)
    op.buffers["running_mean"] = rng.standard_normal(shape[1]).astype(dtype)
    op.buffers["running_var"] = (np.abs(rng.standard_normal(shape[1])) + 0.5).astype(dtype)
    x = (2 * rng.standard_normal(shape) + 1).astype(dtype)
    return op, x


def test_batchnorm_init_and_shapes():
    op = OPS["batchnorm"]()
    op.init_params([(3, 4, 4)], np.random.default_rng(0), np.float32, "he")
    np.testing.assert_array_equal(op.params["weight"], np.ones(3, np.float32))
    np.testing.assert_array_equal(op.params["bias"], np.zeros(3, np.float32))
    np.testing.assert_array_equal(op.buffers["running_mean"], np.zeros(3, np.float32))
    np.testing.assert_array_equal(op.buffers["running_var"], np.ones(3, np.float32))
    assert op.param_shapes([(3, 4, 4)]) == {"weight": (3,), "bias": (3,)}
    assert op.buffer_shapes([(5,)]) == {"running_mean": (5,), "running_var": (5,)}
    assert op.geometry() == ((1, 1), (1, 1), (0, 0))
    with pytest.raises(ShapeError):
        op.infer_shape([(3, 4)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(5, 3), (4, 2, 3, 3), (2, 4)])
@pytest.mark.parametrize("hp", [{}, {"momentum": 0.7, "eps": 1e-3}])
def test_batchnorm_running_stats_match_torch(shape, dtype, hp):
    op, x = make_batchnorm(shape, dtype, **hp)
    t_mean = torch.tensor(op.buffers["running_mean"])
    t_var = torch.tensor(op.buffers["running_var"])
    for step in range(3):  # several updates compound any error
        batch = x * (step + 1) - step
        y = op.forward(batch)
        t_y = F.batch_norm(torch.tensor(batch), t_mean, t_var,
                           torch.tensor(op.params["weight"]), torch.tensor(op.params["bias"]),
                           training=True, momentum=op.hp["momentum"], eps=op.hp["eps"])
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(y, t_y.numpy(), rtol=rtol, atol=rtol)
        np.testing.assert_allclose(op.buffers["running_mean"], t_mean.numpy(), rtol=rtol,
                                   atol=rtol)
        np.testing.assert_allclose(op.buffers["running_var"], t_var.numpy(), rtol=rtol,
                                   atol=rtol)
        assert op.buffers["running_var"].dtype == dtype


def test_batchnorm_eval_leaves_running_stats_and_uses_them():
    op, x = make_batchnorm((4, 3), np.float64)
    before = {k: v.copy() for k, v in op.buffers.items()}
    op.training = False
    y = op.forward(x)
    for key, value in before.items():
        np.testing.assert_array_equal(op.buffers[key], value)
    expected = ((x - before["running_mean"]) / np.sqrt(before["running_var"] + 1e-5)
                * op.params["weight"] + op.params["bias"])
    np.testing.assert_allclose(y, expected, rtol=1e-12)


def test_batchnorm_training_needs_more_than_one_value_per_channel():
    op, _ = make_batchnorm((1, 3), np.float64)
    with pytest.raises(ShapeError, match="more than one value per channel"):
        op.forward(np.ones((1, 3)))
    op.training = False
    op.forward(np.ones((1, 3)))  # eval mode is fine with a single sample


def test_batchnorm_untrainable_leaves_grads_empty():
    op, x = make_batchnorm((4, 3), np.float64)
    op.trainable = False
    op.grads = {}
    y = op.forward(x)
    op.backward(np.ones_like(y))
    assert op.grads == {}


# -- dropout -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dropout_mask(dtype):
    op = OPS["dropout"](p=0.25)
    x = np.ones((50, 40), dtype=dtype)
    y = op.forward(x)
    assert op.mask.shape == x.shape and op.mask.dtype == dtype and y.dtype == dtype
    scale = dtype(1) / dtype(0.75)
    assert set(np.unique(op.mask)) <= {0, scale}
    assert abs((op.mask == 0).mean() - 0.25) < 0.03
    np.testing.assert_array_equal(y, x * op.mask)
    np.testing.assert_array_equal(op.backward(np.full_like(x, 2))[0], 2 * op.mask)


def test_dropout_randomness_comes_from_rng():
    a, b = OPS["dropout"](), OPS["dropout"]()
    x = np.ones((4, 10))
    np.testing.assert_array_equal(a.forward(x), b.forward(x))  # both default_rng(0)
    first = a.mask.copy()
    a.forward(x)
    assert not np.array_equal(first, a.mask)  # a fresh mask every forward
    c = OPS["dropout"]()
    c.rng = np.random.default_rng(123)
    c.forward(x)
    d = OPS["dropout"]()
    d.rng = np.random.default_rng(123)
    d.forward(x)
    np.testing.assert_array_equal(c.mask, d.mask)


def test_dropout_reuse_mask():
    op = OPS["dropout"](p=0.5)
    x = np.random.default_rng(0).standard_normal((3, 6))
    op.forward(x)
    mask = op.mask.copy()
    op.reuse_mask = True
    op.forward(x + 1)
    np.testing.assert_array_equal(op.mask, mask)
    op.forward(x.astype(np.float32))
    assert op.mask.dtype == np.float32
    np.testing.assert_array_equal(op.mask != 0, mask != 0)
    op.forward(np.ones((2, 6)))  # another shape: a new mask
    assert op.mask.shape == (2, 6)


def test_dropout_eval_is_identity_and_p_range():
    op = OPS["dropout"](p=0.9)
    op.training = False
    x = np.random.default_rng(0).standard_normal((2, 5)).astype(np.float32)
    y = op.forward(x)
    np.testing.assert_array_equal(y, x)
    assert y is not x
    np.testing.assert_array_equal(op.backward(x)[0], x)
    assert OPS["dropout"](p=0.0).forward(x) is not None
    with pytest.raises(HyperError):
        OPS["dropout"](p=1.0)
    with pytest.raises(HyperError):
        OPS["dropout"](p=-0.1)


@pytest.mark.parametrize("p", [0.0, 0.3, 0.5])
def test_dropout_finite_differences_with_reused_mask(p):
    op = OPS["dropout"](p=p)
    op.reuse_mask = True
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 4))
    errors = check_op(op, [x])
    assert max(errors.values()) < 1e-8


# -- losses ----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_returns_0d_array_of_input_dtype(name, dtype):
    rng = np.random.default_rng(0)
    op = OPS[name]()
    pred = rng.uniform(0.1, 0.9, (3, 4)).astype(dtype)
    if name == "softmax_cross_entropy":
        target = np.array([0, 3, 1], dtype=np.int64)
    else:
        target = rng.integers(0, 2, (3, 4)).astype(np.float64)  # float64 target, any pred
    loss = op.forward(pred, target)
    assert isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype == dtype
    (grad,) = op.backward(np.ones((), dtype))
    assert grad.shape == pred.shape and grad.dtype == dtype


@pytest.mark.parametrize("name", ["mse", "bce", "bce_with_logits"])
def test_loss_target_shape_checked(name):
    with pytest.raises(ShapeError, match="target shaped like the prediction"):
        OPS[name]().forward(np.full((3, 2), 0.5), np.zeros((3,)))


def test_bce_rejects_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\].*1\.5"):
        OPS["bce"]().forward(np.array([[0.5, 1.5]]), np.array([[1.0, 0.0]]))


def test_bce_integer_targets_accepted():
    pred = np.array([[0.2, 0.7]], dtype=np.float32)
    loss = OPS["bce"](reduction="sum").forward(pred, np.array([[0, 1]]))
    expected = -(np.log(0.8) + np.log(0.7))
    np.testing.assert_allclose(loss, expected, rtol=1e-6)


def test_bce_clamps_like_torch_without_warnings():
    pred = np.array([[0.0, 1.0, 0.0, 1.0]])
    target = np.array([[1.0, 0.0, 0.0, 1.0]])
    op = OPS["bce"](reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = op.forward(pred, target)
        (grad,) = op.backward(np.ones(()))
    assert loss == 200.0
    t_pred = torch.tensor(pred, requires_grad=True)
    t_loss = F.binary_cross_entropy(t_pred, torch.tensor(target), reduction="sum")
    (t_grad,) = torch.autograd.grad(t_loss, t_pred)
    np.testing.assert_array_equal(grad, t_grad.numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bce_with_logits_huge_logits(dtype):
    z = np.array([[-1e4, -100.0, 0.0, 100.0, 1e4]], dtype=dtype)
    y = np.array([[1.0, 0.0, 1.0, 1.0, 0.0]], dtype=dtype)
    op = OPS["bce_with_logits"](reduction="sum")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = op.forward(z, y)
        (grad,) = op.backward(np.ones((), dtype))
    t_z = torch.tensor(z, requires_grad=True)
    t_loss = F.binary_cross_entropy_with_logits(t_z, torch.tensor(y), reduction="sum")
    (t_grad,) = torch.autograd.grad(t_loss, t_z)
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-6)
    np.testing.assert_allclose(grad, t_grad.numpy(), rtol=1e-6, atol=1e-30)


def test_softmax_cross_entropy_labels_checked():
    op = OPS["softmax_cross_entropy"]()
    z = np.zeros((3, 4))
    with pytest.raises(ValueError, match="label 7 is out of range.*0..3"):
        op.forward(z, np.array([0, 7, 1]))
    with pytest.raises(ValueError, match="label -1 is out of range"):
        op.forward(z, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match="integer class labels"):
        op.forward(z, np.array([0.0, 1.5, 1.0]))
    with pytest.raises(ShapeError, match="one label per sample"):
        op.forward(z, np.array([[0], [1], [2]]))
    with pytest.raises(ShapeError, match=r"flat class scores \[K\], got 3×2×2"):
        op.infer_shape([(3, 2, 2)])
    # Integral float labels (as read from some files) are accepted.
    np.testing.assert_allclose(op.forward(z, np.array([0.0, 3.0, 1.0])), np.log(4))


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_softmax_cross_entropy_gradient_is_prediction_minus_onehot(reduction):
    z = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.array([2, 0, 1, 2])
    op = OPS["softmax_cross_entropy"](reduction=reduction)
    op.forward(z, labels)
    (grad,) = op.backward(np.ones(()))
    e = np.exp(z)
    expected = e / e.sum(axis=1, keepdims=True) - np.eye(3)[labels]
    if reduction == "mean":
        expected /= 4
    np.testing.assert_allclose(grad, expected, rtol=1e-12)


# -- in a network ------------------------------------------------------------------


def test_residual_network_with_loss_runs_through_executor():
    rng = np.random.default_rng(0)
    nodes = [NodeSpec("x", OPS["input"](shape=[3]), []),
             NodeSpec("d1", OPS["dense"](units=3), ["x"]),
             NodeSpec("bn", OPS["batchnorm"](), ["d1"]),
             NodeSpec("act", OPS["tanh"](), ["bn"]),
             NodeSpec("res", OPS["add"](), ["act", "x"]),
             NodeSpec("cat", OPS["concat"](), ["res", "x"]),
             NodeSpec("out", OPS["dense"](units=4), ["cat"]),
             NodeSpec("loss", OPS["softmax_cross_entropy"](), ["out"])]
    for node in nodes:
        node.op.init_params([(3,)] if node.id != "out" else [(6,)], rng, np.float64, "glorot")
    executor = Executor(Network(nodes))
    x = rng.standard_normal((5, 3))
    labels = np.array([0, 1, 2, 3, 0])
    loss = executor.run({"x": x}, {"loss": labels})

    t_x = torch.tensor(x, requires_grad=True)
    p = {f"{n.id}/{k}": torch.tensor(v, requires_grad=True)
         for n in nodes for k, v in n.op.params.items()}
    bn = nodes[2].op
    d1 = F.linear(t_x, p["d1/weight"], p["d1/bias"])
    # bn's running stats were updated by our forward; training output ignores them.
    h = F.batch_norm(d1, torch.tensor(bn.buffers["running_mean"]),
                     torch.tensor(bn.buffers["running_var"]), p["bn/weight"], p["bn/bias"],
                     training=True)
    res = torch.tanh(h) + t_x
    out = F.linear(torch.cat([res, t_x], dim=1), p["out/weight"], p["out/bias"])
    t_loss = F.cross_entropy(out, torch.tensor(labels))
    grads = torch.autograd.grad(t_loss, [t_x, *p.values()])
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-12)
    np.testing.assert_allclose(executor.grads["x"], grads[0].numpy(), rtol=1e-9, atol=1e-12)
    for (key, _), theirs in zip(p.items(), grads[1:]):
        node_id, name = key.split("/")
        ours = executor.network.nodes[node_id].op.grads[name]
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)
