"""Shapes and pairs as bpviz writes them everywhere: 16×8×8, 3×2, scalar.

The one place that decides how a shape, a kernel size or a stride reads, so
that the canvas, the formula panel, error messages, exports and the command
line all spell them alike (× not x; one word for a shape without axes).
"""

from __future__ import annotations

from collections.abc import Iterable

SCALAR = "scalar"  # a shape with no axes: a loss, or one number per sample


def shape_text(shape: Iterable[int] | None) -> str:
    """(16, 8, 8) → "16×8×8"; () → "scalar"; None → "?" (not known yet)."""
    if shape is None:
        return "?"
    dims = [str(int(d)) for d in shape]
    return "×".join(dims) if dims else SCALAR


def batch_text(shape: Iterable[int]) -> str:
    """A batch of samples of `shape` as torch sizes it: (3, 8, 8) → "[N, 3, 8, 8]"."""
    return "[" + ", ".join(["N", *(str(int(d)) for d in shape)]) + "]"


def as_pair(value: int | Iterable[int]) -> tuple[int, int]:
    """An int-or-[h, w] hyperparameter as an (h, w) tuple."""
    if isinstance(value, (list, tuple)):
        first, second = value
        return int(first), int(second)
    return int(value), int(value)


def pair_text(value: int | Iterable[int]) -> str:
    """A kernel, stride, padding or dilation: 3 or [3, 3] → "3"; [3, 2] → "3×2"."""
    h, w = as_pair(value)
    return str(h) if h == w else f"{h}×{w}"


def square_text(value: int | Iterable[int]) -> str:
    """A window size always with both sides: 3 → "3×3"; [3, 2] → "3×2"."""
    h, w = as_pair(value)
    return f"{h}×{w}"
