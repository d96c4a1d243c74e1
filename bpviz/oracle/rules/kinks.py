"""Kinks compared on the engine's side: ReLU-like inputs and max-pool near-ties.

At a kink (ReLU's z = 0, a max-pool window whose two largest pixels are
equal) the gradient jumps: an input within rounding of the kink sends the
whole upstream gradient one way or the other, and two correct programs that
round it differently disagree by that whole gradient, on every node before.
Inside `aligning(dtype)` (bpviz.oracle.compare runs torch there) the torch
rules of relu, leaky_relu and maxpool2d take the engine's side wherever
torch's own choice differs from the engine op's (the mask it computed, the
window's winner) and the input lies within the comparison's tolerance of the
kink: tol · max |x|, tol as in `TOLERANCES`. The engine's input is judged
against torch's with that same allowance, so both sides are consistent with
agreement there; an input farther from the kink keeps torch's own choice,
and an engine that picks the wrong side there is still caught. Dropout's
mask is read the same way, always (bpviz.oracle.rules.norm).

Outside `aligning` (training checks, speed runs, the exported module) the
rules are plain torch. The count of aligned entries per op is kept by the
context, keyed by the engine op's id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
import torch

# The comparison's relative tolerance per dtype (bpviz.oracle.compare).
TOLERANCES = {"float32": 1e-4, "float64": 1e-9}

_COUNTS: ContextVar[dict[int, int] | None] = ContextVar("kink_counts", default=None)


@contextmanager
def aligning() -> Iterator[dict[int, int]]:
    """Within: kinks are compared on the engine's side; yields id(op) → aligned entries."""
    counts: dict[int, int] = {}
    token = _COUNTS.set(counts)
    try:
        yield counts
    finally:
        _COUNTS.reset(token)


def active() -> bool:
    return _COUNTS.get() is not None


def band(x: torch.Tensor) -> float:
    """How close to a kink an input may lie and still be put on the engine's side."""
    tol = TOLERANCES.get(str(x.dtype).removeprefix("torch."), 0.0)
    finite = x.detach()[torch.isfinite(x.detach())]
    return tol * float(finite.abs().max()) if finite.numel() else 0.0


def record(op, count: int) -> None:
    counts = _COUNTS.get()
    if counts is not None and count:
        counts[id(op)] = counts.get(id(op), 0) + count


def engine_state(value: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """`value`, an engine op's record of its last forward (ReLU's `kink_side`,
    MaxPool2d's `winner`), when aligning and it fits this run; else None."""
    if not active() or not isinstance(value, np.ndarray) or value.shape != tuple(shape):
        return None
    return value


def relu_gate(x: torch.Tensor, op, engine_positive: np.ndarray | None) -> torch.Tensor | None:
    """Where each input counts as positive, on the engine's side near 0; None when
    torch's own `x > 0` stands everywhere (nothing to align)."""
    if engine_positive is None:
        return None
    ours = torch.from_numpy(np.ascontiguousarray(engine_positive))
    theirs = x.detach() > 0
    flipped = (ours != theirs) & (x.detach().abs() <= band(x))
    count = int(flipped.sum())
    if not count:
        return None
    record(op, count)
    return torch.where(flipped, ours, theirs)


def pool_winners(x: torch.Tensor, pooled: torch.Tensor, torch_index: torch.Tensor,
                 op, winner: np.ndarray | None, kernel, stride, padding
                 ) -> torch.Tensor:
    """max pooling with the engine's winner where torch picked another pixel within
    `band` of it. x: the input [N, C, H, W]; pooled, torch_index: max_pool2d's
    output and indices into the unpadded plane; winner: the engine's tap per window."""
    if winner is None:
        return pooled
    n, c, oh, ow = pooled.shape
    wp = x.shape[3] + 2 * padding[1]
    tap = torch.from_numpy(winner.astype(np.int64))
    rows = torch.arange(oh).view(1, 1, oh, 1) * stride[0] + tap // kernel[1]
    cols = torch.arange(ow).view(1, 1, 1, ow) * stride[1] + tap % kernel[1]
    w = wp - 2 * padding[1]
    engine_index = (rows - padding[0]) * w + (cols - padding[1])
    differ = engine_index != torch_index
    if not bool(differ.any()):
        return pooled
    padded = torch.nn.functional.pad(x, (padding[1], padding[1], padding[0], padding[0]),
                                     value=float("-inf"))
    picked = padded.flatten(2).gather(2, (rows * wp + cols).view(n, c, -1)).view_as(pooled)
    aligned = differ & ((pooled.detach() - picked.detach()).abs() <= band(x))
    count = int(aligned.sum())
    if not count:
        return pooled
    record(op, count)
    return torch.where(aligned, picked, pooled)
