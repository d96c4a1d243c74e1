"""The torch counterparts of add and concat: expressions, not modules."""

from __future__ import annotations

import operator

import torch

from bpviz.oracle.import_rules import axis
from bpviz.oracle.interop import TensorValue
from bpviz.oracle.rules.base import TorchRule, torch_rule


def _add(ctx, input, other, alpha=1):
    if not (isinstance(input, TensorValue) and isinstance(other, TensorValue)):
        raise ctx.fail("adding a constant is not supported: bpviz's add sums tensors "
                       "(a residual connection)")
    if alpha != 1:
        raise ctx.fail(f"torch.add with alpha={alpha!r} is not supported")
    first, second = ctx.tensor(input), ctx.tensor(other)
    origin = ctx.origin.get(first.node)
    if (ctx.doc.nodes[first.node].op == "add" and origin is not None and len(origin.users) == 1
            and first.shape == second.shape):
        # a + b + c: the partial sum is used nowhere else, so one add node takes all three
        ctx.doc.nodes[first.node].inputs.append(second.node)
        return first
    return ctx.add("add", [first, second])


@torch_rule("add")
class AddRule(TorchRule):
    """a + b (+ c …): one add node for a chain whose partial sums are used nowhere else."""

    functions = {operator.add: _add, operator.iadd: _add, torch.add: _add}
    methods = {"add": _add}
    supported = ("", "a + b, torch.add")

    def forward(self, xs, params, buffers, hp, op):
        total = xs[0]
        for x in xs[1:]:
            total = total + x
        return total

    def expression(self, args):
        return " + ".join(args)


def _cat(ctx, tensors, dim=0):
    values = [ctx.tensor(t, "each concatenated input") for t in tensors]
    if not values or any(axis(dim, v) != 1 for v in values):
        raise ctx.fail(f"torch.cat along dim={dim!r} is not supported: bpviz concatenates "
                       "along the channel axis, dim=1")
    return values[0] if len(values) == 1 else ctx.add("concat", values)


@torch_rule("concat")
class ConcatRule(TorchRule):
    functions = {torch.cat: _cat, torch.concat: _cat}
    supported = ("", "torch.cat(..., dim=1)")

    def forward(self, xs, params, buffers, hp, op):
        return torch.cat(xs, dim=1)

    def expression(self, args):
        return f"torch.cat([{', '.join(args)}], dim=1)"
