"""Activations at their edge cases: the gradient at zero, huge inputs, agreement with torch,
softmax per pixel."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bpviz.engine import OPS, HyperError

torch = pytest.importorskip("torch")


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
