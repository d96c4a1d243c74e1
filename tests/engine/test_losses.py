"""Losses: a 0-d result of the input's dtype, checked targets, BCE's range and clamping,
huge logits, cross-entropy's labels and gradient."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bpviz.engine import OPS, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

LOSSES = ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"]


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
