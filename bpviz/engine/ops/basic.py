"""input, dense and flatten."""

from __future__ import annotations

from typing import Any

import numpy as np

from bpviz.engine.explain import Explained, OpPass, Term
from bpviz.engine.init import init_weight
from bpviz.engine.op import SAME_AS_INPUT, Hyper, Op, Shape, ShapeError, register
from bpviz.engine.shape_text import shape_text


@register
class Input(Op):
    """The data entry point: forward returns the batch it is fed, [N, *shape]."""

    op_name = "input"
    output_range = None  # data: anything
    family = "input"
    hypers = (Hyper("shape", "shape", None, minimum=1, required=True, start=[1, 8, 8],
                    doc="per-sample shape, e.g. [1, 8, 8] or [2]"),)
    min_inputs = 0
    max_inputs = 0
    summary = "Input batch x (batch axis first)."
    symbols = ("", "x")
    backward_formula = ("x is data: its gradient ∂L/∂x is computed but not used for learning",)

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        shape = params.get("shape")
        return f"input {shape_text(shape)}" if isinstance(shape, list) else cls.op_name

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        return tuple(self.hp["shape"])

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        if x.shape[1:] != tuple(self.hp["shape"]):
            raise ShapeError(f"input expects samples of shape {list(self.hp['shape'])}, "
                             f"got {list(x.shape[1:])}")
        return x

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return ()


@register
class Dense(Op):
    """Fully connected layer z = W u + b, batch-first: Z [N, out] = U [N, in] Wᵀ + b.

    weight [out, in] and bias [out], as torch.nn.Linear.
    """

    op_name = "dense"
    family = "layer"
    hypers = (Hyper("units", "int", None, minimum=1, maximum=1_000_000, required=True,
                    start=10, doc="number of output units"),
              Hyper("bias", "bool", True, doc="add a learned bias b"))
    summary = "Dense (fully connected) layer z = W u + b."
    symbols = ("u", "z")
    forward_formula = "z = W u + b"
    backward_formula = ("∂L/∂W = (∂L/∂z) uᵀ,  ∂L/∂b = Σ_samples ∂L/∂z,  ∂L/∂u = Wᵀ (∂L/∂z)",)

    @classmethod
    def title_of(cls, params: dict[str, Any]) -> str:
        return f"dense {params['units']}" if "units" in params else cls.op_name

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        if len(shape) != 1:
            raise ShapeError(f"dense needs a flat input [features], got {shape_text(shape)}: "
                             "add a flatten node")
        return (self.hp["units"],)

    def param_shapes(self, in_shapes: list[Shape]) -> dict[str, Shape]:
        (shape,) = in_shapes
        shapes = {"weight": (self.hp["units"], shape[0])}
        if self.hp["bias"]:
            shapes["bias"] = (self.hp["units"],)
        return shapes

    def init_params(self, in_shapes, rng, dtype, scheme) -> None:
        out_features, in_features = self.param_shapes(in_shapes)["weight"]
        self.params["weight"] = init_weight((out_features, in_features), in_features,
                                            out_features, scheme, rng, dtype)
        if self.hp["bias"]:
            self.params["bias"] = np.zeros(out_features, dtype)

    def geometry(self):
        return None

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (u,) = xs
        self._u = u
        z = u @ self.params["weight"].T
        if self.hp["bias"]:
            z += self.params["bias"]
        return z

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        if self.trainable:
            u = self._u
            # One sample: ∂L/∂W is an outer product, made faster by a broadcast
            # multiply than by a matrix product with an inner dimension of 1.
            self.grads["weight"] = gy.T * u if len(u) == 1 else gy.T @ u
            if self.hp["bias"]:
                self.grads["bias"] = gy.sum(axis=0)
        return (gy @ self.params["weight"],)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """z[b,o] = Σ_i W[o,i] u[b,i] + b[o]; ∂L/∂W[o,i] = Σ_b ∂L/∂z[b,o] u[b,i];
        ∂L/∂b[o] = Σ_b ∂L/∂z[b,o]; ∂L/∂u[b,i] = Σ_o W[o,i] ∂L/∂z[b,o]."""
        weight = self.params["weight"]
        units, features = weight.shape
        batch = ctx.inputs[0].shape[0]
        if tensor == "out":
            b, o = at
            terms = [Term(1.0, (ctx.param("weight", (o, i)), ctx.x((b, i))))
                     for i in range(features)]
            if self.hp["bias"]:
                terms.append(Term(1.0, (ctx.param("bias", (o,)),)))
            bias = f" + b[{o}]" if self.hp["bias"] else ""
            return Explained(f"z[{o}] = Σ_i W[{o},i] u[i]{bias}, sample {b}", tuple(terms))
        over = f" over the batch (N = {batch})"
        if tensor == "grad/weight":
            o, i = at
            return Explained(f"∂L/∂W[{o},{i}] = Σ_b ∂L/∂z[b,{o}] u[b,{i}]{over}",
                             tuple(Term(1.0, (ctx.gy((b, o)), ctx.x((b, i))))
                                   for b in range(batch)))
        if tensor == "grad/bias":
            (o,) = at
            return Explained(f"∂L/∂b[{o}] = Σ_b ∂L/∂z[b,{o}]{over}",
                             tuple(Term(1.0, (ctx.gy((b, o)),)) for b in range(batch)))
        if tensor == "grad_in/0":
            b, i = at
            return Explained(f"∂L/∂u[{i}] = Σ_o W[o,{i}] ∂L/∂z[o], sample {b}",
                             tuple(Term(1.0, (ctx.param("weight", (o, i)), ctx.gy((b, o))))
                                   for o in range(units)))
        return super().explain(tensor, at, ctx)


@register
class Flatten(Op):
    """[N, C, H, W] → [N, C·H·W] in C order (as torch.flatten(x, 1))."""

    op_name = "flatten"
    output_range = SAME_AS_INPUT
    family = "layer"
    summary = "Flatten every axis but the batch axis."
    symbols = ("U", "z")
    backward_formula = ("∂L/∂U = reshape(∂L/∂z, shape of U): flatten only moves numbers",)

    def infer_shape(self, in_shapes: list[Shape]) -> Shape:
        (shape,) = in_shapes
        return (int(np.prod(shape)),)

    def geometry(self):
        return None

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        (x,) = xs
        self._shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, gy: np.ndarray) -> tuple[np.ndarray | None, ...]:
        return (gy.reshape(self._shape),)

    def explain(self, tensor: str, at: tuple[int, ...], ctx: OpPass) -> Explained:
        """One entry moved: z[b,f] = U[b, unravel(f)], f the C-order position."""
        shape = ctx.inputs[0].shape[1:]
        if tensor == "out":
            b, f = at
            source = np.unravel_index(f, shape)
            index = ",".join(str(int(i)) for i in source)
            return Explained(f"z[{f}] = U[{index}] (flatten moves numbers: position {f} "
                             f"in C order of {'×'.join(map(str, shape))}), sample {b}",
                             (Term(1.0, (ctx.x((b, *source)),)),))
        if tensor == "grad_in/0":
            b, *source = at
            f = int(np.ravel_multi_index(source, shape))
            index = ",".join(map(str, source))
            return Explained(f"∂L/∂U[{index}] = ∂L/∂z[{f}] (the entry U[{index}] moved to), "
                             f"sample {b}", (Term(1.0, (ctx.gy((b, f)),)),))
        return super().explain(tensor, at, ctx)
