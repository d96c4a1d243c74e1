"""Whether an engine tensor agrees with torch's: the error and the scale it is judged by.

The rule is bpviz.oracle.compare's (its docstring): max |e − r| ≤ tol · scale.
The statistics of a large tensor are taken in blocks of BLOCK entries, so that
judging fc6's gradient (103 M entries) allocates no whole-size temporary.
"""

from __future__ import annotations

import numpy as np

ROUNDING_MULTIPLE = 10.0  # how many times the expected rounding error the engine may make

Pair = tuple[float, float]  # (error, scale)


def measure(ours, reference, other=None, tol: float = 0.0,
            noise_factor: float = 1.0) -> Pair:
    """(max |ours − reference|, scale); the error is NaN or inf when they cannot agree.

    `other` is torch's result in the other precision; with it (and tol > 0) the
    scale includes the allowance for rounding noise (module docstring),
    |reference − other| times `noise_factor`.
    """
    reference = np.asarray(reference)
    return error(ours, reference), scale(largest_entry(reference), reference, other, tol,
                                         noise_factor)


BLOCK = 2**20  # entries: statistics of a large tensor in blocks, without whole-size temporaries


def blocks(*arrays: np.ndarray):
    """The arrays (of one shape) side by side, BLOCK entries or so at a time, as flat
    views where they are contiguous (a non-contiguous one is copied a block at a time)."""
    arrays = [np.asarray(a) for a in arrays]
    if arrays[0].ndim == 0 or all(a.flags.c_contiguous for a in arrays):
        flat = [a.reshape(-1) for a in arrays]
        for k in range(0, flat[0].size, BLOCK):
            yield [a[k:k + BLOCK] for a in flat]
        return
    rows = max(1, BLOCK // max(1, arrays[0][0].size))
    for k in range(0, len(arrays[0]), rows):
        yield [a[k:k + rows].reshape(-1) for a in arrays]


def largest_entry(reference: np.ndarray) -> float:
    """max |r| over the finite entries."""
    largest = 0.0
    for (block,) in blocks(reference):
        if not np.all(np.isfinite(block)):
            block = block[np.isfinite(block)]
        largest = max(largest, float(np.max(np.abs(block), initial=0.0)))
    return largest


def error(ours, reference: np.ndarray) -> float:
    """max |ours − reference|: inf for another shape, NaN where either is not finite."""
    ours = np.asarray(ours)
    if ours.shape != reference.shape:
        return float("inf")
    worst = 0.0
    for a, b in blocks(ours, reference):
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
            return float("nan")
        worst = max(worst, float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0)))
    return worst


def scale(largest: float, reference: np.ndarray, other, tol: float,
          noise_factor: float) -> float:
    if other is None or tol <= 0 or np.shape(other) != reference.shape:
        return max(1.0, largest)
    with np.errstate(all="ignore"):
        noise = error(np.asarray(other), reference)
    if not np.isfinite(noise):  # the other precision overflowed: no noise estimate
        return max(1.0, largest)
    return largest + ROUNDING_MULTIPLE * noise * noise_factor / tol


def agrees(err: float, scale: float, tol: float) -> bool:
    return bool(err <= tol * scale)  # False for NaN

