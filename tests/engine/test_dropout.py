"""dropout: its mask, its randomness, a reused mask, eval mode and p's range, finite
differences."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, HyperError
from bpviz.engine.gradcheck import check_op


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
