"""The base class of every op, its hyperparameter specs and the op registry.

Shapes in this package are per-sample (no batch axis) when they describe a node
(`infer_shape`, `param_shapes`) and batch-first (`N,C,H,W` or `N,F`) when they
describe the arrays that flow through `forward` and `backward`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from bpviz.engine.explain import Explained, OpPass

Shape = tuple[int, ...]
SAME_AS_INPUT = "same as the input"  # an output_range: the inputs' numbers, moved


class ShapeError(ValueError):
    """An op's inputs do not fit it. The message names the rule, not the node."""


class HyperError(ValueError):
    """A hyperparameter is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Hyper:
    """One hyperparameter of an op, as it appears in a graph file's `params`.

    kind is one of "int", "float", "bool", "pair" (an int or [h, w]), "shape"
    (a list of positive ints) or "choice" (one of `choices`). A default of
    None with required=False means "derived from another parameter" (pooling
    stride defaults to the kernel).
    """

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    doc: str = ""
    required: bool = False


def pair(value: int | list[int] | tuple[int, int]) -> tuple[int, int]:
    """Normalise an int-or-[h, w] hyperparameter to an (h, w) tuple."""
    if isinstance(value, (list, tuple)):
        return int(value[0]), int(value[1])
    return int(value), int(value)


OPS: dict[str, type[Op]] = {}


def register(cls: type[Op]) -> type[Op]:
    """Class decorator: make an op available by its `op_name`."""
    OPS[cls.op_name] = cls
    return cls


class Op:
    """One node's computation: forward and backward side by side.

    Subclasses set the class attributes and implement `infer_shape`, `forward`
    and `backward`; ops with weights also implement `param_shapes` and
    `init_params`. `forward(*xs) -> y` caches what backward needs;
    `backward(gy)` returns one gradient per graph input, in input order, and
    stores parameter gradients in `self.grads` (only when `self.trainable`).
    Neither ever mutates its arguments.
    """

    op_name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # input, layer, pooling, merge, activation, norm, loss
    hypers: ClassVar[tuple[Hyper, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1
    is_loss: ClassVar[bool] = False
    # The values the output can take, as a closed interval (low, high): every real
    # number by default, SAME_AS_INPUT for ops that only move or pick numbers (the
    # union of the inputs' ranges), None when unknown (data). `input_range` is what
    # the first input must lie within (bce: probabilities); checked while editing.
    output_range: ClassVar[tuple[float, float] | str | None] = (-math.inf, math.inf)
    input_range: ClassVar[tuple[float, float] | None] = None
    # The chain-rule step in the lecture's notation, shown beside each Step.
    formula: ClassVar[str] = ""
    summary: ClassVar[str] = ""

    def __init__(self, **hp: Any) -> None:
        self.hp: dict[str, Any] = check_hypers(type(self), hp)
        self.params: dict[str, np.ndarray] = {}
        self.buffers: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self.trainable = True

    # -- shapes ---------------------------------------------------------
    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        """Per-sample output shape; raise ShapeError when the inputs do not fit."""
        raise NotImplementedError

    def param_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        """Trainable tensors in torch's layout, e.g. dense weight [out, in]."""
        return {}

    def buffer_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        """Non-trainable state (batchnorm running statistics)."""
        return {}

    def geometry(self) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]] | None:
        """(effective kernel, stride, padding) as (h, w) pairs for receptive fields.

        The default is a pointwise op: kernel 1, stride 1, padding 0.
        Ops whose output is no longer spatial (flatten, dense, global pooling,
        losses) return None.
        """
        return (1, 1), (1, 1), (0, 0)

    # -- parameters -----------------------------------------------------
    def init_params(self, in_shapes: list[Shape], rng: np.random.Generator,
                    dtype: np.dtype, scheme: str) -> None:
        """Fill self.params/self.buffers; scheme is "he" or "glorot"."""

    def astype(self, dtype: np.dtype) -> None:
        for store in (self.params, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(dtype)

    # -- computation ----------------------------------------------------
    def forward(self, *xs: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        raise NotImplementedError

    # -- explanation ----------------------------------------------------
    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """One entry of this op's output ("out"), of a gradient it sends back
        ("grad_in/<k>") or of a parameter's gradient ("grad/<p>") at index `at`
        (batch axis first where the tensor has one), as the lecture's sum of
        terms: see bpviz.engine.explain. The terms must add up to the entry."""
        raise NotImplementedError(f"{self.op_name} cannot explain '{tensor}' yet")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hp.items())
        return f"{type(self).__name__}({args})"


def _check_one(spec: Hyper, value: Any, op_name: str) -> Any:
    where = f"{op_name} parameter '{spec.name}'"
    if value is None and spec.default is None and not spec.required:
        return None  # written out explicitly as null: "derived", as when omitted

    def number(v: Any, integral: bool) -> float | int:
        ok = isinstance(v, int) if integral else isinstance(v, (int, float))
        if isinstance(v, bool) or not ok:
            kind = "an integer" if integral else "a number"
            raise HyperError(f"{where} must be {kind}, got {v!r}")
        if not np.isfinite(v):
            raise HyperError(f"{where} must be finite, got {v!r}")
        if spec.minimum is not None and v < spec.minimum:
            raise HyperError(f"{where} must be at least {spec.minimum}, got {v!r}")
        if spec.maximum is not None and v > spec.maximum:
            raise HyperError(f"{where} must be at most {spec.maximum}, got {v!r}")
        return v

    if spec.kind == "int":
        return number(value, True)
    if spec.kind == "float":
        return float(number(value, False))
    if spec.kind == "bool":
        if not isinstance(value, bool):
            raise HyperError(f"{where} must be true or false, got {value!r}")
        return value
    if spec.kind == "choice":
        if value not in spec.choices:
            allowed = ", ".join(map(str, spec.choices))
            raise HyperError(f"{where} must be one of {allowed}, got {value!r}")
        return value
    if spec.kind == "pair":
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise HyperError(f"{where} must be an integer or [h, w], got {value!r}")
            return [number(v, True) for v in value]
        return number(value, True)
    if spec.kind == "shape":
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 3:
            raise HyperError(f"{where} must be a list of 1 to 3 positive integers, got {value!r}")
        return [number(v, True) for v in value]
    raise AssertionError(f"unknown hyperparameter kind {spec.kind}")


def check_hypers(cls: type[Op], given: dict[str, Any]) -> dict[str, Any]:
    """Validate `given` against cls.hypers and fill in the defaults."""
    known = {spec.name: spec for spec in cls.hypers}
    unknown = sorted(set(given) - set(known))
    if unknown:
        allowed = ", ".join(known) or "none"
        raise HyperError(f"{cls.op_name} has no parameter '{unknown[0]}' (allowed: {allowed})")
    result: dict[str, Any] = {}
    for name, spec in known.items():
        if name in given:
            result[name] = _check_one(spec, given[name], cls.op_name)
        elif spec.required:
            raise HyperError(f"{cls.op_name} needs parameter '{name}'")
        else:
            result[name] = spec.default
    return result
