"""Checks for NaN and infinity, and norms that survive huge values: what the
Trainer measures after every pass and update."""

from __future__ import annotations

import numpy as np


def all_finite(a: np.ndarray) -> bool:
    a = np.asarray(a)
    if a.size < 1 << 16:
        return bool(np.isfinite(a).all())
    # NOTE: for large arrays, a float64 sum allocates nothing: any NaN or
    # infinity makes it non-finite, and finite values can only overflow it
    # near 1e308, when the elements are checked one by one after all.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a, dtype=np.float64)):
            return True
    return bool(np.isfinite(a).all())


def square_norm(arrays) -> float:
    """Σ a² over all arrays, in float64 (infinite for finite but huge weights)."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        for a in arrays:
            flat = np.asarray(a, dtype=np.float64).ravel()
            total += float(np.dot(flat, flat))
    return total
