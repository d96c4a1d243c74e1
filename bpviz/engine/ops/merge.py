"""Merges of several inputs: add (residual connections) and concat (dense connections)."""

from __future__ import annotations

import numpy as np

from bpviz.engine.explain import Explained, OpPass, Term, index_text
from bpviz.engine.op import SAME_AS_INPUT, Op, Shape, ShapeError, register
from bpviz.engine.shape_text import shape_text


def input_port(tensor: str, count: int) -> int | None:
    """k of "grad_in/<k>" when the node has that input, else None."""
    kind, _, port = tensor.partition("/")
    if kind == "grad_in" and port.isdigit() and int(port) < count:
        return int(port)
    return None


@register
class Add(Op):
    """y = x_1 + x_2 + … + x_k, inputs [N, ...] all of one shape.

    The residual connection of a ResNet block: y = F(x) + x.
    """

    op_name = "add"
    family = "merge"
    min_inputs = 2
    max_inputs = None
    summary = "Element-wise sum of its inputs (a residual connection)."
    forward_formula = "y = Σ_i x_i"
    backward_formula = ("∂L/∂x_i = ∂L/∂y for every input i",)

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        first = tuple(in_shapes[0])
        for shape in in_shapes[1:]:
            if tuple(shape) != first:
                raise ShapeError(f"add needs inputs of one shape, got {shape_text(first)} "
                                 f"and {shape_text(shape)}")
        return first

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self.infer_shape([x.shape[1:] for x in xs])
        if len({x.shape[0] for x in xs}) > 1:
            raise ShapeError("add needs inputs with one batch size")
        self._count = len(xs)
        y = np.add(xs[0], xs[1])  # a fresh array in one pass, not a copy and then a sum
        for x in xs[2:]:
            y += x
        return y

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: ∂y/∂x_i is the identity, so every input receives the whole
        # upstream gradient, not a share of it. All inputs share one read-only
        # view of ∂L/∂y instead of a copy each: an op that wrongly wrote into
        # its upstream gradient would then fail loudly rather than silently
        # change the gradient another branch of the residual block receives.
        shared = gy.view()
        shared.flags.writeable = False
        return (shared,) * self._count

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """y[at] = Σ_i x_i[at]; ∂L/∂x_k[at] = ∂L/∂y[at] (the whole of it, for every k)."""
        where = index_text(at)
        if tensor == "out":
            count = len(ctx.inputs)
            return Explained(f"y{where} = " + " + ".join(f"{ctx.x_name(k)}{where}"
                                                         for k in range(count)),
                             tuple(Term(1.0, (ctx.x(at, k),)) for k in range(count)))
        k = input_port(tensor, len(ctx.inputs))
        if k is not None:
            return Explained(f"∂L/∂{ctx.x_name(k)}{where} = ∂L/∂y{where}: "
                             "∂y/∂x_i is the identity, every input gets all of ∂L/∂y",
                             (Term(1.0, (ctx.gy(at),)),))
        return super().explain(tensor, at, ctx)


@register
class Concat(Op):
    """Stack inputs along the channel axis: [N, C_1, H, W], … → [N, Σ C_i, H, W].

    Flat inputs [N, F_i] are joined the same way into [N, Σ F_i]. The dense
    connection of a DenseNet block.
    """

    op_name = "concat"
    output_range = SAME_AS_INPUT
    family = "merge"
    min_inputs = 2
    max_inputs = None
    forward_formula = "y = [x_1; x_2; …] along channels"
    backward_formula = ("∂L/∂x_i = the channel slice of ∂L/∂y that x_i filled",)
    summary = "Concatenate its inputs along the channel axis (a dense connection)."

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        first = tuple(in_shapes[0])
        if len(first) == 0:
            raise ShapeError("concat needs inputs with a channel axis, got single numbers")
        for shape in in_shapes[1:]:
            shape = tuple(shape)
            if len(shape) != len(first):
                raise ShapeError(f"concat needs inputs with the same number of axes, got "
                                 f"{shape_text(first)} and {shape_text(shape)}")
            if shape[1:] != first[1:]:
                raise ShapeError(f"concat needs inputs of one spatial size, got "
                                 f"{shape_text(first)} and {shape_text(shape)}")
        return (sum(shape[0] for shape in in_shapes), *first[1:])

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self.infer_shape([x.shape[1:] for x in xs])
        if len({x.shape[0] for x in xs}) > 1:
            raise ShapeError("concat needs inputs with one batch size")
        self._channels = [x.shape[1] for x in xs]
        return np.concatenate(xs, axis=1)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        # NOTE: no arithmetic here: concat only moves numbers, so each input's
        # gradient is exactly the block of channels it contributed.
        bounds = np.cumsum(self._channels)[:-1]
        return tuple(part.copy() for part in np.split(gy, bounds, axis=1))

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """y[b,c,…] = x_k[b, c − offset_k, …] for the input k whose channels hold c;
        ∂L/∂x_k[b,c,…] = ∂L/∂y[b, c + offset_k, …]."""
        offsets = np.cumsum([0] + [x.shape[1] for x in ctx.inputs])
        if tensor == "out":
            b, c, *rest = at
            k = int(np.searchsorted(offsets, c, side="right")) - 1
            source = (b, c - int(offsets[k]), *rest)
            return Explained(f"y{index_text(at)} = {ctx.x_name(k)}{index_text(source)}: "
                             f"channels {offsets[k]}…{offsets[k + 1] - 1} of y are "
                             f"{ctx.x_name(k)}'s", (Term(1.0, (ctx.x(source, k),)),))
        k = input_port(tensor, len(ctx.inputs))
        if k is not None:
            b, c, *rest = at
            target = (b, c + int(offsets[k]), *rest)
            return Explained(f"∂L/∂{ctx.x_name(k)}{index_text(at)} = ∂L/∂y{index_text(target)}"
                             f": {ctx.x_name(k)} filled channels {offsets[k]}…"
                             f"{offsets[k + 1] - 1} of y", (Term(1.0, (ctx.gy(target),)),))
        return super().explain(tensor, at, ctx)
