"""Float64 finite-difference gradient check of a single op.

For a random upstream gradient G the scalar s(x, θ) = Σ G ⊙ op(x; θ) has
∂s/∂x = backward(G); central differences (s(x+h) − s(x−h)) / 2h estimate it
independently of the op's backward code.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpviz.engine.op import Op


def numeric_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """∂f/∂array by central differences, perturbing `array` in place and restoring it."""
    grad = np.zeros_like(array, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


def check_op(op: Op, inputs: list[np.ndarray], extra: tuple = (), seed: int = 0,
             eps: float = 1e-6) -> dict[str, float]:
    """Largest |analytic − numeric| for each input ('x0', 'x1', ...) and parameter.

    `extra` is passed to forward after the inputs (a loss's targets).
    The op must be deterministic between calls (dropout reuses its mask in
    gradient checks by setting `op.reuse_mask`).
    """
    inputs = [np.array(x, dtype=np.float64) for x in inputs]
    op.astype(np.float64)
    if hasattr(op, "reuse_mask"):
        op.reuse_mask = True  # dropout: one mask for every evaluation
    out = op.forward(*inputs, *extra)
    upstream = np.random.default_rng(seed).standard_normal(np.shape(out))
    op.grads = {}
    analytic = op.backward(upstream)
    param_grads = dict(op.grads)

    def scalar() -> float:
        return float(np.sum(upstream * op.forward(*inputs, *extra)))

    errors: dict[str, float] = {}
    for i, (x, g) in enumerate(zip(inputs, analytic)):
        if g is not None:
            errors[f"x{i}"] = float(np.max(np.abs(numeric_gradient(scalar, x, eps) - g), initial=0))
    for name, value in op.params.items():
        if name in param_grads:
            numeric = numeric_gradient(scalar, value, eps)
            errors[name] = float(np.max(np.abs(numeric - param_grads[name]), initial=0))
    return errors
