"""batchnorm: initial values and shapes, running statistics as torch keeps them, eval mode,
the batch it needs, frozen parameters."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional


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
