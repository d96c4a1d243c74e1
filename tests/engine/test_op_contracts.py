"""What every activation, merge, batchnorm, dropout and loss op promises: registered with a
formula and a summary, losses shaped as losses, inputs left untouched and dtypes kept."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, HyperError
from tests.engine.op_specs import SPECS  # noqa: F401  (first: it imports the spec modules)
from tests.engine.specs_pointwise import POINTWISE_SPECS
from tests.engine.test_ops_vs_torch import build

torch = pytest.importorskip("torch")

POINTWISE_OPS = ["relu", "leaky_relu", "sigmoid", "tanh", "softmax", "add", "concat",
                 "batchnorm", "dropout", "mse", "bce", "bce_with_logits", "softmax_cross_entropy"]
LOSSES = ["mse", "bce", "bce_with_logits", "softmax_cross_entropy"]


@pytest.mark.parametrize("name", POINTWISE_OPS)
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
