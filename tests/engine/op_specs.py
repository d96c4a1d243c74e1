"""One table of op specs drives the torch and finite-difference tests.

Each OpSpec names an op, its hyperparameters, batch-first input shapes, and a
torch reference `torch_fn(xs, params, hp)` written with torch.nn.functional
(independent of our code). Losses also give `make_target(rng, pred_shape)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class OpSpec:
    id: str
    op: str
    hp: dict[str, Any]
    in_shapes: list[tuple[int, ...]]
    torch_fn: Callable[..., Any]
    make_inputs: Callable[[np.random.Generator], list[np.ndarray]] | None = None
    make_target: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray] | None = None
    training: bool = True
    scheme: str = "glorot"
    rtol32: float = 1e-4
    atol32: float = 1e-5
    fd: bool = True  # run the float64 finite-difference check (skip when huge)
    extra: dict[str, Any] = field(default_factory=dict)

    def inputs(self, rng: np.random.Generator) -> list[np.ndarray]:
        if self.make_inputs is not None:
            return self.make_inputs(rng)
        return [rng.standard_normal(shape) for shape in self.in_shapes]


def _dense(xs, params, hp):
    import torch.nn.functional as F
    return F.linear(xs[0], params["weight"], params.get("bias"))


def _flatten(xs, params, hp):
    import torch
    return torch.flatten(xs[0], 1)


BASIC_SPECS: list[OpSpec] = [
    OpSpec("dense", "dense", {"units": 5}, [(3, 7)], _dense),
    OpSpec("dense_nobias", "dense", {"units": 1, "bias": False}, [(4, 2)], _dense),
    OpSpec("dense_batch1", "dense", {"units": 3}, [(1, 1)], _dense),
    OpSpec("flatten", "flatten", {}, [(2, 3, 4, 5)], _flatten),
]


def all_specs() -> list[OpSpec]:
    # Imported late: the spec modules import OpSpec from here.
    from tests.engine.specs_conv import CONV_SPECS
    from tests.engine.specs_pointwise import POINTWISE_SPECS

    return BASIC_SPECS + CONV_SPECS + POINTWISE_SPECS


SPECS = all_specs()
