"""Every op's forward and backward against torch autograd, and finite differences."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS
from bpviz.engine.gradcheck import check_op
from tests.engine.op_specs import SPECS, OpSpec

torch = pytest.importorskip("torch")

DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


def build(spec: OpSpec, dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    xs = [x.astype(dtype) for x in spec.inputs(rng)]
    op = OPS[spec.op](**spec.hp)
    op.init_params([x.shape[1:] for x in xs], rng, dtype, spec.scheme)
    # Random, non-trivial values for every parameter and buffer, so that zero
    # biases or unit scales cannot hide a bug.
    for store in (op.params, op.buffers):
        for key, value in store.items():
            fresh = rng.standard_normal(value.shape)
            if key == "running_var":
                fresh = np.abs(fresh) + 0.5
            store[key] = fresh.astype(dtype)
    op.training = spec.training
    # A loss's target is shaped like its input (the prediction), not its 0-d output.
    pred_shape = xs[0].shape if op.is_loss else (
        xs[0].shape[0], *op.infer_shape([x.shape[1:] for x in xs]))
    target = spec.make_target(rng, pred_shape) if spec.make_target else None
    if target is not None and np.issubdtype(target.dtype, np.floating):
        target = target.astype(dtype)  # class labels stay int64
    return op, xs, target


def tolerance(dtype):
    return (1e-4, 1e-5) if dtype == np.float32 else (1e-9, 1e-11)


@pytest.mark.parametrize("dtype_name", list(DTYPES))
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_forward_and_backward_match_torch(spec: OpSpec, dtype_name: str):
    np_dtype, torch_dtype = DTYPES[dtype_name]
    op, xs, target = build(spec, np_dtype)
    extra = (target,) if target is not None else ()
    y = op.forward(*[x.copy() for x in xs], *extra)
    upstream = np.random.default_rng(1).standard_normal(np.shape(y)).astype(np_dtype)
    grads_in = op.backward(upstream)

    t_xs = [torch.tensor(x, requires_grad=True) for x in xs]
    t_params = {k: torch.tensor(v, requires_grad=True) for k, v in op.params.items()}
    t_buffers = {k: torch.tensor(v) for k, v in op.buffers.items()}
    t_target = torch.tensor(target) if target is not None else None
    t_y = spec.torch_fn(t_xs, {**t_params, **t_buffers}, {**spec.hp, "op": op,
                                                          "target": t_target,
                                                          "training": spec.training})
    leaves = t_xs + list(t_params.values())
    t_grads = torch.autograd.grad(t_y, leaves, torch.tensor(upstream, dtype=torch_dtype),
                                  allow_unused=True)

    rtol, atol = tolerance(np_dtype)
    assert y.dtype == np_dtype, f"forward returned {y.dtype} for {np_dtype.__name__} inputs"
    np.testing.assert_allclose(y, t_y.detach().numpy(), rtol=rtol, atol=atol, err_msg="forward")
    for i, (ours, theirs) in enumerate(zip(grads_in, t_grads[: len(xs)])):
        expected = np.zeros_like(xs[i]) if theirs is None else theirs.numpy()
        np.testing.assert_allclose(ours, expected, rtol=rtol, atol=atol, err_msg=f"∂L/∂x{i}")
    for name, theirs in zip(t_params, t_grads[len(xs):]):
        np.testing.assert_allclose(op.grads[name], theirs.numpy(), rtol=rtol, atol=atol,
                                   err_msg=f"∂L/∂{name}")
    for i, x in enumerate(xs):
        np.testing.assert_array_equal(x, t_xs[i].detach().numpy(), err_msg="input mutated")


@pytest.mark.parametrize("spec", [s for s in SPECS if s.fd], ids=lambda s: s.id)
def test_finite_differences(spec: OpSpec):
    op, xs, target = build(spec, np.float64)
    extra = (target,) if target is not None else ()
    errors = check_op(op, xs, extra)
    assert errors, "nothing was checked"
    assert max(errors.values()) < 1e-6, errors
