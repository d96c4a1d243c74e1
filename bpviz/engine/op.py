"""The base class of every op, its hyperparameter specs and the op registry.

Shapes in this package are per-sample (no batch axis) when they describe a node
(`infer_shape`, `param_shapes`) and batch-first (`N,C,H,W` or `N,F`) when they
describe the arrays that flow through `forward` and `backward`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from bpviz.engine.shape_text import pair_text, square_text

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
    None with required=False means "derived from another parameter": `same_as`
    names it (pooling stride defaults to the kernel).

    `start` is the value a node gets when the editor adds it (None: nothing is
    written, so the default applies); every required parameter has one.
    """

    name: str
    kind: str
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple = ()
    doc: str = ""
    required: bool = False
    start: Any = None
    same_as: str = ""


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

    The class is the op's one home. Its class attributes declare what the app
    shows about it (parameters with their defaults and start values, symbols,
    formulas as data, layout flags) and `title_of` its canvas title; its
    torch counterpart is registered by the oracle (bpviz.oracle.rules).
    Subclasses implement `infer_shape`, `forward`, `backward` and `explain`;
    ops with weights also implement `param_shapes` and `init_params`.
    `forward(*xs) -> y` caches what backward needs; `backward(gy)` returns one
    gradient per graph input, in input order, and stores parameter gradients
    in `self.grads` (only when `self.trainable`). Neither ever mutates its
    arguments.
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
    summary: ClassVar[str] = ""
    # The lecture's names for the input and the output (U and Z for a conv, z
    # and u for an activation) and for the parameters.
    symbols: ClassVar[tuple[str, str]] = ("x", "y")
    param_symbols: ClassVar[Mapping[str, str]] = MappingProxyType({"weight": "W", "bias": "b"})
    # The chain-rule step in the lecture's notation: the forward formula (empty
    # when the op computes nothing worth a formula) and the backward lines.
    forward_formula: ClassVar[str] = ""
    backward_formula: ClassVar[tuple[str, ...]] = ()
    # Maps written H×W×C and weights k1×k2×n×m, as the lecture's conv slides.
    lecture_layout: ClassVar[bool] = False
    # u_i depends on z_i alone: the Jacobian is diagonal.
    elementwise: ClassVar[bool] = False
    # Piecewise linear with its kink at 0, as ReLU: the layers that feed it start
    # with He initialisation, and the torch check counts inputs on the kink.
    relu_like: ClassVar[bool] = False
    # The whole step on one line (derived: forward and backward joined by ";  "),
    # carried by every Step of the executor.
    formula: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.formula = ";  ".join(filter(None, (cls.forward_formula, *cls.backward_formula)))

    # -- declarations read by the editor, the canvas and the exports ------
    @classmethod
    def start_params(cls) -> dict[str, Any]:
        """The parameters a node of this op gets when the editor adds it."""
        return {spec.name: copy.deepcopy(spec.start) for spec in cls.hypers
                if spec.start is not None}

    @classmethod
    def title(cls, params: Any) -> str:
        """The node's title on the canvas, e.g. "conv2d 8 3×3 s2" or "dense 10".

        Never fails: a half-edited file may hold any value anywhere (a word
        where a number belongs); the title then shows it as written, or just
        the op's name.
        """
        try:
            return cls.title_of(params if isinstance(params, dict) else {})
        except Exception:  # noqa: BLE001 - a title must not stop the canvas from drawing
            return cls.op_name

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        """The title from `params` as written in the file (defaults not filled in)."""
        return cls.op_name

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

    def release(self) -> None:
        """Let go of the arrays forward cached for backward (attributes named `_…`).

        Executor.run calls it once a node's backward step is done; `backward`
        cannot run again before the next `forward`.
        """
        for name, value in list(vars(self).items()):
            if name.startswith("_") and isinstance(value, np.ndarray):
                delattr(self, name)

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


# -- titles -------------------------------------------------------------------------
def number_text(value: Any) -> str:
    """A number as short as it goes ("0.5", "1e-05"); anything else as written."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def window_text(value: Any) -> str:
    """A kernel in a title: 3 → "3×3", [3, 2] → "3×2"; a half-edited value as written."""
    try:
        return square_text(value)
    except (TypeError, ValueError):
        return str(value)


def short_params(cls: type[Op], params: dict[str, Any], letters: dict[str, str]) -> list[str]:
    """Parameters that differ from their defaults as short words: s2, p1, d2×1."""
    changed = non_default(cls, params)
    words = []
    for name, letter in letters.items():
        if changed.get(name) is not None:
            try:
                words.append(f"{letter}{pair_text(changed[name])}")
            except (TypeError, ValueError):
                words.append(f"{letter}{changed[name]}")
    return words


# -- which parameters differ from their defaults ----------------------------------
def non_default(op: type[Op] | str, params: dict[str, Any]) -> dict[str, Any]:
    """The entries of `params` that differ from the op's defaults, in their order.

    The one answer to "is this parameter its default?": a pair written [1, 1]
    equals the default 1; a derived parameter (pooling stride) is its default
    when null or equal to the parameter it follows (the kernel). Required
    parameters, unknown names and values that cannot be compared (a
    half-edited file) always count as given. Never raises.
    """
    cls = OPS.get(op) if isinstance(op, str) else op
    specs = {spec.name: spec for spec in cls.hypers} if cls is not None else {}
    return {name: value for name, value in params.items()
            if not _is_default(specs.get(name), value, params)}


def _is_default(spec: Hyper | None, value: Any, params: dict[str, Any]) -> bool:
    if spec is None or spec.required:
        return False
    try:
        if spec.same_as:
            return value is None or _same(spec.kind, value, params.get(spec.same_as))
        return _same(spec.kind, value, spec.default)
    except (TypeError, ValueError, IndexError):
        return False


def _same(kind: str, value: Any, default: Any) -> bool:
    if value is None or default is None:
        return value is None and default is None
    if kind == "pair":
        return _int_pair(value) is not None and _int_pair(value) == _int_pair(default)
    if isinstance(value, bool) or isinstance(default, bool):
        return value is default
    return value == default


def _int_pair(value: Any) -> tuple[int, int] | None:
    """An int or [h, w] of ints as (h, w); None for anything else."""
    values = list(value) if isinstance(value, (list, tuple)) else [value, value]
    if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool)
                                   for v in values):
        return None
    return values[0], values[1]
