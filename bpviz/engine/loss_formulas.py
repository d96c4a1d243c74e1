"""The formulas of a loss step, written for the node's own reduction.

The lecture sums a loss over the samples i = 1 … N (and over the numbers
k = 1 … F of a sample): that is reduction "sum". Reduction "mean" (torch's
default) divides by the number of terms, so its formulas carry the factor in
front: 1/N for the cross-entropy of class labels (one term per sample), and
1/(N·F) for the element-wise losses (one term per number), written 1/N when a
sample has a single number (the lecture's binary classifier). The backward
formula carries the same factor, so the text on screen is the number shown.

The loss op declares both formulas with blanks for the reduction
(`reduced_formulas`), whether it has one term per sample or one per number
(`one_term_per_sample`), and how its target is named (`target_symbol`).

`loss_forward_line` ends with the value of L, as the step computed it.
"""

from __future__ import annotations

import numpy as np


def is_mean(op) -> bool:
    return op.hp.get("reduction") == "mean"


def divisor(op, per_sample: int) -> str:
    """What "mean" divides by: N (one term per sample) or N·F (one per number)."""
    return "N" if op.one_term_per_sample or per_sample == 1 else "N·F"


def _texts(op, per_sample: int) -> tuple[str, str]:
    forward, backward = op.reduced_formulas
    one = per_sample == 1 or op.one_term_per_sample
    by = divisor(op, per_sample)
    factor = (f"1/{by} · " if by == "N" else f"1/({by}) · ") if is_mean(op) else ""
    fill = {"f": factor, "p": "(" if factor else "", "q": ")" if factor else "",
            "i": "i" if one else "ik", "sum": "Σ_i" if one else "Σ_i Σ_k"}
    return forward.format(**fill), backward.format(**fill)


def loss_forward_line(op, per_sample: int, value: np.ndarray) -> str:
    """The loss as a formula of the step's reduction, and its value."""
    return f"{_texts(op, per_sample)[0]} = {float(value):.6g}"


def loss_backward_line(op, per_sample: int) -> str:
    return _texts(op, per_sample)[1]


def loss_shapes_line(op, symbol: str, shape: str, per_sample: int, batch: int,
                     phase: str) -> str:
    """The shapes (per sample) and the reduction's factor with the batch's numbers."""
    target = op.target_symbol
    if phase == "forward":
        line = f"{symbol}: {shape} · {target}: {shape} per sample → L: one number for the batch"
    else:
        line = f"{symbol}: {shape} · {target}: {shape} → ∂L/∂{symbol}: {shape} per sample"
    if not is_mean(op):
        return line + f"  (sum over the batch of N = {batch}, as the lecture writes it)"
    if divisor(op, per_sample) == "N":
        return line + f"  (mean: 1/N = 1/{batch})"
    return line + f"  (mean: 1/(N·F) = 1/({batch}·{per_sample}) = 1/{batch * per_sample:,})"
