"""The chain-rule step of one Step, in the lecture's notation, with its real shapes.

`describe_step(step, network)` gives a title, a few lines of formula filled
with THIS step's per-sample shapes, and one line saying how large the full
Jacobian ∂out/∂in would be: the tensor that the backward pass (a
vector-Jacobian product) never builds. Shapes are per sample (no batch axis);
the batch size is stated where sums run over it.

Shape order: conv and pooling lines follow the lecture, W[k1,k2,n,m] and maps
[i1,i2,channel] (H×W×C); bpviz stores weight[m,n,k1,k2] and maps [C,H,W], and
the lines say so. Every other op is written in the stored order.

One letter for the loss: L, in every formula, tab and legend of a pass. The
lecture defines the loss as L (L = Σ_i L_i, its MLP and loss slides) and
writes J for the same loss only on its conv-layer gradient slides. A pass
through a CNN crosses both parts, and a student who sees ∂J/∂Z at the conv
and ∂L/∂z at the next dense layer reads two different quantities. So the conv
and pooling formulas keep the lecture's indices, order and sums exactly and
only say L for J; their backward steps add the note "the lecture's conv
slides write J for this same loss L", so the formula on a slide beside the
lecture's reads as the same equation.

Losses show the node's reduction: "sum" is the lecture's sum over samples,
"mean" puts 1/N (or 1/(N·F)) in front, forward and backward
(bpviz.engine.loss_formulas), and the forward line ends with L's value.

Every op declares its part (bpviz.engine.op.Op): its symbols, its forward
formula and backward lines, whether its maps are written in the lecture's
order and whether it acts element by element. This module fills them in with
the step's shapes; conv2d, dense, add and input get lines of their own,
worked with the step's sizes.

`caption` is what a picture of the step prints: the formula lines with their
shapes, without the context (upstream) line, which is `context`.

`full_jacobian(step, network)` builds that Jacobian for real, for tiny nodes
only (every tensor ≤ TINY numbers per sample): one backward call per output
element with a one-hot upstream gradient, on a copy of the op. Exact.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from bpviz.engine.executor import Network, Step
from bpviz.engine.loss_formulas import (
    loss_backward_line,
    loss_forward_line,
    loss_shapes_line,
)
from bpviz.engine.op import non_default
from bpviz.engine.shape_text import pair_text, shape_text
from bpviz.engine.update_formulas import NO_JACOBIAN, update_text

TINY = 16
LOSS = "L"  # the loss, in every op's formulas (the lecture's conv slides write J)
LECTURE_J = "the lecture's conv slides write J for this same loss L: ∂J/∂… there is ∂L/∂… here"


@dataclass(frozen=True)
class StepFormula:
    title: str
    lines: tuple[str, ...]  # everything the formula panel shows, in order
    jacobian: str
    caption: tuple[str, ...] = ()  # the formula lines with shapes, for a picture's caption
    context: str = ""  # where the upstream gradient comes from (backward), a caption's aside


@dataclass(frozen=True)
class JacobianBlock:
    """∂(one sample's output)/∂(one input or parameter), flattened in C order."""

    name: str  # e.g. "∂z/∂u"
    out_shape: tuple[int, ...]
    in_shape: tuple[int, ...]
    matrix: np.ndarray  # (out size, in size)


# -- small helpers ---------------------------------------------------------------
def count(shape) -> int:
    return int(np.prod(tuple(shape), dtype=np.int64))


class _Names:
    """Symbols and per-sample shapes of one step, in the order its lines use."""

    def __init__(self, step: Step, network: Network) -> None:
        node = network.nodes[step.node]
        self.op = node.op
        self.node = node
        self.lecture = self.op.lecture_layout
        self.x, self.y = self.op.symbols
        self.loss = LOSS
        self.batch = step.output.shape[0] if step.output.ndim else (
            step.inputs[0].shape[0] if step.inputs else 1)
        many = len(node.inputs) > 1
        self.inputs = [f"{self.x}_{k + 1}" if many else self.x for k in range(len(node.inputs))]
        self.in_shapes = [self.shape(x.shape[1:]) for x in step.inputs]
        self.out_shape = self.shape(step.output.shape[1:] if step.output.ndim else ())
        symbols = self.op.param_symbols
        self.params = {name: (symbols.get(name, name), self.param_shape(value.shape))
                       for name, value in self.op.params.items()}
        self.frozen = bool(self.op.params) and not self.op.trainable
        self.consumers = [consumer for consumer, _ in network.consumers.get(step.node, [])]

    def shape(self, shape) -> tuple[int, ...]:
        shape = tuple(shape)
        if self.lecture and len(shape) == 3:
            return shape[1], shape[2], shape[0]
        return shape

    def param_shape(self, shape) -> tuple[int, ...]:
        shape = tuple(shape)
        if self.lecture and len(shape) == 4:
            m, n, k1, k2 = shape
            return k1, k2, n, m
        return shape

    def d(self, symbol: str) -> str:
        return f"∂{self.loss}/∂{symbol}"


# -- describe_step ---------------------------------------------------------------
def describe_step(step: Step, network: Network) -> StepFormula:
    if step.phase == "update":
        return _update_formula(step, network)
    names = _Names(step, network)
    title = f"{step.op} '{step.node}' · {step.phase}" + (" · frozen" if names.frozen else "")
    upstream = []
    if step.phase == "forward":
        formula = _forward_lines(step, names)
    else:
        upstream = _upstream_lines(step, names)
        formula = _backward_lines(step, names)
    lines = upstream + formula + _notes(step, names)
    context = upstream[0] if upstream else ""
    if names.lecture and step.phase == "backward":
        context += ("  ·  " if context else "") + "J in the lecture's conv slides = L"
    return StepFormula(title, tuple(lines), jacobian_line(step, names),
                       tuple(_caption_lines(formula)), context)


def _update_formula(step: Step, network: Network) -> StepFormula:
    """An update step's rule and numbers (bpviz.engine.update_formulas)."""
    text = step.text
    if text is None:  # made once per step: it reads every entry of θ
        text = step.text = update_text(step, network.nodes[step.node].op.param_symbols)
    return StepFormula(text.title, text.lines, NO_JACOBIAN, text.lines, text.context)


# Lines a caption leaves out: conv's "W: … · U: … · ∂L/∂Z: …" repeats the shapes
# of the line after it; its stride line only matters when s or d is not 1.
NOT_IN_CAPTION = ("W: ", "stride s = 1, dilation d = 1,")


def _caption_lines(formula: list[str]) -> list[str]:
    return [line for line in formula if not line.startswith(NOT_IN_CAPTION)]


def _forward_lines(step: Step, names: _Names) -> list[str]:
    lines = [names.op.forward_formula or names.op.summary]
    if step.op == "input":
        return [f"x: {shape_text(names.out_shape)} per sample, a batch of N = {names.batch}"]
    if names.op.is_loss:
        per_sample = count(names.in_shapes[0])
        return [loss_forward_line(names.op, per_sample, step.output),
                loss_shapes_line(names.op, names.x, shape_text(names.in_shapes[0]), per_sample,
                                 names.batch, "forward")]
    ins = " · ".join(f"{s}: {shape_text(shape)}" for s, shape in zip(names.inputs, names.in_shapes))
    params = "".join(f" · {s}: {shape_text(shape)}" for s, shape in names.params.values())
    lines.append(f"{ins} → {names.y}: {shape_text(names.out_shape)}{params}"
                 f"  (per sample, batch of N = {names.batch})")
    return lines


def _upstream_lines(step: Step, names: _Names) -> list[str]:
    d_out = names.d(names.y)
    sources = [consumer for consumer, _, _ in step.contributions]
    if sources == ["L"]:
        return ["start of backward: ∂L/∂L = 1" if names.op.is_loss
                else f"{d_out} = 1 everywhere: with no loss node, L = Σ of this output"]
    if not sources:
        return [f"{d_out} = 0: nothing downstream reaches the loss"]
    if len(sources) == 1:
        return [f"upstream {d_out}: {shape_text(names.out_shape)}, from '{sources[0]}'"]
    wires = names.consumers  # in graph order, as the canvas draws them
    sources.sort(key=lambda s: wires.index(s) if s in wires else len(wires))
    terms = " + ".join(f"from '{s}'" for s in sources)
    return [f"{d_out} = Σ over consumers: {terms}  (a fork: the chain rule adds the paths)"]


def _backward_lines(step: Step, names: _Names) -> list[str]:
    special = {"conv2d": _conv_lines, "dense": _dense_lines, "add": _add_lines,
               "input": _input_lines}
    if step.op in special:
        return special[step.op](step, names)
    if names.op.is_loss:
        per_sample = count(names.in_shapes[0])
        return [loss_backward_line(names.op, per_sample),
                loss_shapes_line(names.op, names.x, shape_text(names.in_shapes[0]), per_sample,
                                 names.batch, "backward")]
    return [*names.op.backward_formula, _shapes_line(names)]


def _shapes_line(names: _Names) -> str:
    produced = [f"{names.d(s)}: {shape_text(shape)}"
                for s, shape in zip(names.inputs, names.in_shapes)]
    if not names.frozen:
        produced += [f"{names.d(s)}: {shape_text(shape)}" for s, shape in names.params.values()]
    return f"{names.d(names.y)}: {shape_text(names.out_shape)} → " + " · ".join(produced)


def _conv_lines(step: Step, names: _Names) -> list[str]:
    (u_shape,) = names.in_shapes
    w_shape = names.params["weight"][1]
    j = names.loss
    lines = []
    if not names.frozen:
        lines.append(f"∂{j}/∂W[k1,k2,n,m] = Σ_{{i1,i2}} U[i1+k1, i2+k2, n] · ∂{j}/∂Z[i1,i2,m]"
                     f",  summed over the batch of N = {names.batch}")
        if "bias" in names.params:
            lines.append(f"∂{j}/∂b[m] = Σ_{{i1,i2}} ∂{j}/∂Z[i1,i2,m],  and over the batch")
    lines.append(f"∂{j}/∂U = full correlation of ∂{j}/∂Z with the flipped kernel W")
    lines.append(f"W: {shape_text(w_shape)} · U: {shape_text(u_shape)} · "
                 f"∂{j}/∂Z: {shape_text(names.out_shape)}")
    lines.append(_shapes_line(names))
    window = {name: names.op.hp[name] for name in ("stride", "dilation", "padding")}
    if non_default(names.op.op_name, window):
        s, d, p = (pair_text(value) for value in window.values())
        lines.append(f"stride s = {s}, dilation d = {d}, padding p = {p}: "
                     "read U[s·i1 + d·k1, s·i2 + d·k2, n] of U padded by p")
    return lines


def _dense_lines(step: Step, names: _Names) -> list[str]:
    (n_in,) = names.in_shapes[0] or (1,)
    (n_out,) = names.out_shape or (1,)
    lines = []
    if not names.frozen:
        lines.append(f"∂L/∂W = (∂L/∂z) uᵀ : ({n_out}×1)(1×{n_in}) = {n_out}×{n_in}, "
                     f"summed over the batch of N = {names.batch}")
        if "bias" in names.params:
            lines.append(f"∂L/∂b = ∂L/∂z : {n_out}, summed over the batch")
    lines.append(f"∂L/∂u = Wᵀ (∂L/∂z) : ({n_in}×{n_out})({n_out}×1) = {n_in}")
    lines.append(_shapes_line(names))
    return lines


def _add_lines(step: Step, names: _Names) -> list[str]:
    sources = ", ".join(f"'{s}'" for s in names.node.inputs)
    return [f"∂L/∂x_i = ∂L/∂y (each input): {shape_text(names.out_shape)} to each of {sources}",
            "y = Σ_i x_i has ∂y/∂x_i = identity: every input gets the whole gradient"]


def _input_lines(step: Step, names: _Names) -> list[str]:
    return [f"∂L/∂x: {shape_text(names.out_shape)} per sample: computed, but x is data, "
            "so nothing is learned from it"]


def _notes(step: Step, names: _Names) -> list[str]:
    notes = []
    if names.lecture and step.phase == "backward":
        notes.append(LECTURE_J)
    if names.lecture:
        notes.append("shapes in the lecture's order: W as k1×k2×n×m, maps as i1×i2×channel; "
                     "bpviz stores weight [m,n,k1,k2] and maps [C,H,W]"
                     if "weight" in names.params else
                     "shapes in the lecture's order, maps as i1×i2×channel; bpviz stores [C,H,W]")
    if names.frozen:
        symbols = " and ".join(s for s, _ in names.params.values())
        notes.append(f"frozen (transfer learning): no parameter gradient is kept for {symbols}; "
                     f"only {names.d(names.inputs[0]) if names.inputs else 'nothing'} "
                     "flows on")
    return notes


# -- the Jacobian that is never built --------------------------------------------------
def jacobian_line(step: Step, names: _Names | None = None, network: Network | None = None) -> str:
    if names is None:
        names = _Names(step, network)
    if not names.inputs:
        return "x is data: no Jacobian"
    out = names.y
    terms = []
    for symbol, shape in zip(names.inputs, names.in_shapes):
        terms.append(_jacobian_term(out, symbol, names.out_shape, shape))
    if "weight" in names.params and not names.frozen:
        symbol, shape = names.params["weight"]
        terms.append(_jacobian_term(out, symbol, names.out_shape, shape))
    total = sum(count(names.out_shape) * count(shape) for shape in names.in_shapes)
    noun = "number" if total == 1 and len(terms) == 1 else "numbers"
    line = (f"full Jacobian per sample {'; '.join(terms)} {noun}; the backward pass "
            f"never builds it")
    if names.op.elementwise and count(names.out_shape) > 1:
        line += f" (diagonal: only {count(names.out_shape):,} of them are not zero)"
    return line


def _jacobian_term(out: str, symbol: str, out_shape, in_shape) -> str:
    total = count(out_shape) * count(in_shape)
    return f"∂{out}/∂{symbol}: {_rows(out_shape)} × {_rows(in_shape)} = {total:,}"


def _rows(shape) -> str:
    """A Jacobian's side: a scalar (a loss) is one row, not "scalar"."""
    return shape_text(shape) if len(tuple(shape)) else "1"


# -- the Jacobian, built (tiny nodes only) ----------------------------------------
def is_tiny(step: Step, network: Network, limit: int = TINY) -> bool:
    """Every input, the output and every parameter ≤ `limit` numbers per sample."""
    sizes = [count(x.shape[1:]) for x in step.inputs]
    sizes.append(count(step.output.shape[1:]) if step.output.ndim else 1)
    sizes += [value.size for value in network.nodes[step.node].op.params.values()]
    return max(sizes) <= limit


def full_jacobian(step: Step, network: Network, sample: int = 0) -> list[JacobianBlock]:
    """∂(sample's output)/∂(sample's input) for each input, and ∂/∂θ for each trainable
    parameter, from one-hot upstream gradients. A loss's output is the batch's L."""
    if not is_tiny(step, network):
        raise ValueError(f"node '{step.node}' is too large for a full Jacobian "
                         f"(more than {TINY} numbers in a tensor)")
    node = network.nodes[step.node]
    if not node.inputs:
        return []
    op = copy.deepcopy(node.op)
    if hasattr(op, "reuse_mask"):
        op.reuse_mask = True  # dropout: the mask of this pass, not a new one
    out = op.forward(*step.inputs, *((step.target,) if op.is_loss else ()))
    names = _Names(step, network)
    params = list(op.params) if op.trainable else []
    rows: list[list[np.ndarray]] = [[] for _ in range(len(node.inputs) + len(params))]
    for seed in _one_hot_seeds(out, sample):
        op.grads = {}
        grads = op.backward(seed)
        for k, (grad, x) in enumerate(zip(grads, step.inputs)):
            rows[k].append(np.zeros(x[sample].size) if grad is None else grad[sample].ravel())
        for k, name in enumerate(params, start=len(node.inputs)):
            rows[k].append(np.asarray(op.grads[name]).ravel())
    out_shape = tuple(out.shape[1:]) if out.ndim else ()
    shapes = [tuple(x.shape[1:]) for x in step.inputs] + [op.params[p].shape for p in params]
    symbols = names.inputs + [names.params[p][0] for p in params]
    return [JacobianBlock(f"∂{names.y}/∂{symbol}", out_shape, shape, np.array(block))
            for symbol, shape, block in zip(symbols, shapes, rows)]


def _one_hot_seeds(out: np.ndarray, sample: int):
    if out.ndim == 0:
        yield np.ones_like(out)
        return
    for index in range(out[sample].size):
        seed = np.zeros_like(out)
        seed[sample].flat[index] = 1
        yield seed
