"""The torch counterparts of input, dense and flatten."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from bpviz.engine.op import non_default
from bpviz.engine.shape_text import batch_text
from bpviz.oracle.import_rules import axis, trainable
from bpviz.oracle.interop import BATCH, Context, TensorValue
from bpviz.oracle.rules.base import TorchRule, call, changed, torch_rule


@torch_rule("input")
class InputRule(TorchRule):
    """The batch itself (import-torch makes forward's one tensor argument an input node)."""

    def forward(self, xs, params, buffers, hp, op):
        return xs[0]


def _linear(ctx: Context, m: nn.Linear, input):
    x = ctx.tensor(input)
    if len(x.shape) != 1:
        raise ctx.fail(f"nn.Linear on a {batch_text(x.shape)} tensor is not supported: bpviz's "
                       "dense layer takes flat inputs [N, features]; flatten first")
    if m.in_features != x.shape[0]:
        raise ctx.fail(f"nn.Linear expects {m.in_features} features, its input has {x.shape[0]}")
    params = non_default("dense", {"units": m.out_features, "bias": m.bias is not None})
    return ctx.add("dense", [x], params, {"weight": m.weight, "bias": m.bias}, trainable(m))


@torch_rule("dense")
class DenseRule(TorchRule):
    """F.linear; nn.Linear."""

    modules = {nn.Linear: _linear}
    supported = ("nn.Linear", "")
    by_channel = True

    def forward(self, xs, params, buffers, hp, op):
        return F.linear(xs[0], params["weight"], params.get("bias"))

    def module(self, params, in_shape):
        return call("Linear", [in_shape[0], params["units"]], changed("dense", params, ("bias",)))


# -- flatten: torch.flatten, nn.Flatten, x.view(N, -1), x.reshape(N, -1) ----------------
def _as_flat(ctx: Context, value: TensorValue) -> TensorValue:
    if value.shape != ctx.bpviz_shape(value):  # global pooling's [C, 1, 1]: flat in bpviz
        return TensorValue(value.node, ctx.bpviz_shape(value))
    return ctx.add("flatten", [value])


def _flatten(ctx, input, start_dim=0, end_dim=-1):
    if not isinstance(input, TensorValue):
        raise ctx.fail(f"flatten of {input!r}: expected a tensor")
    if axis(start_dim, input) != 1 or axis(end_dim, input) != len(input.shape):
        raise ctx.fail(f"flatten(start_dim={start_dim}, end_dim={end_dim}) is not supported: "
                       "bpviz flattens every axis but the batch axis (start_dim=1, end_dim=-1)")
    return _as_flat(ctx, input)


def _reshape(ctx, input, *shape):
    if not isinstance(input, TensorValue):
        raise ctx.fail(f"view/reshape of {input!r}: expected a tensor")
    sizes = list(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else list(
        shape)
    numel = math.prod(input.shape)
    if sizes and (sizes[0] is BATCH or sizes[0] == -1):
        rest = sizes[1:]
        if rest in ([-1], [numel]) and not (sizes[0] == -1 and rest == [-1]):
            return _as_flat(ctx, input)
        if sizes[0] is BATCH and tuple(rest) == input.shape:
            return input
    shown = ", ".join("N" if s is BATCH else str(s) for s in sizes)
    raise ctx.fail(f"view/reshape of {batch_text(input.shape)} to [{shown}] is not supported: "
                   "bpviz can only flatten each sample, as x.view(x.size(0), -1)")


@torch_rule("flatten")
class FlattenRule(TorchRule):
    """torch.flatten(x, 1); nn.Flatten, and a view or reshape to [N, -1]."""

    modules = {nn.Flatten: lambda ctx, m, input: _flatten(ctx, input, m.start_dim, m.end_dim)}
    functions = {torch.flatten: _flatten}
    methods = {"flatten": _flatten, "view": _reshape, "reshape": _reshape}
    supported = ("nn.Flatten", "torch.flatten(x, 1), x.view(x.size(0), -1), x.reshape(N, -1)")

    def forward(self, xs, params, buffers, hp, op):
        return torch.flatten(xs[0], 1)

    def module(self, params, in_shape):
        return "nn.Flatten()"
