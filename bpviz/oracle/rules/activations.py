"""The torch counterparts of the activations."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bpviz.engine import OPS
from bpviz.engine.op import check_hypers, non_default
from bpviz.oracle.import_rules import axis
from bpviz.oracle.rules import kinks
from bpviz.oracle.rules.base import TorchRule, call, torch_rule


def pointwise(op: str):
    """The handler of a call that becomes one parameterless node of `op`."""

    def handler(ctx, input, *args, **kwargs):
        return ctx.add(op, [ctx.tensor(input)])

    return handler


def pointwise_module(op: str):
    return lambda ctx, m, input: ctx.add(op, [ctx.tensor(input)])


@torch_rule("relu")
class ReLURule(TorchRule):
    modules = {nn.ReLU: pointwise_module("relu")}
    functions = {F.relu: pointwise("relu"), torch.relu: pointwise("relu")}
    methods = {"relu": pointwise("relu")}
    supported = ("nn.ReLU", "torch.relu, F.relu")

    def forward(self, xs, params, buffers, hp, op):
        """F.relu; near 0 on the engine's side of the kink (bpviz.oracle.rules.kinks)."""
        x = xs[0]
        side = kinks.engine_state(op.kink_side, tuple(x.shape))  # the engine's 1[z > 0]
        gate = kinks.relu_gate(x, op, side)
        return F.relu(x) if gate is None else torch.where(gate, x, torch.zeros_like(x))

    def module(self, params, in_shape):
        return "nn.ReLU()"


def _leaky(ctx, input, negative_slope=0.01, inplace=False):
    params = non_default("leaky_relu", {"slope": float(negative_slope)})
    return ctx.add("leaky_relu", [ctx.tensor(input)], params)


@torch_rule("leaky_relu")
class LeakyReLURule(TorchRule):
    modules = {nn.LeakyReLU: lambda ctx, m, input: _leaky(ctx, input, m.negative_slope)}
    functions = {F.leaky_relu: _leaky}
    supported = ("nn.LeakyReLU", "F.leaky_relu")

    def forward(self, xs, params, buffers, hp, op):
        """F.leaky_relu; near 0 on the engine's side of the kink (bpviz.oracle.rules.kinks)."""
        x = xs[0]
        side = kinks.engine_state(op.kink_side, tuple(x.shape))  # the engine's 1[z > 0]
        gate = kinks.relu_gate(x, op, side)
        return F.leaky_relu(x, hp["slope"]) if gate is None else torch.where(
            gate, x, x * hp["slope"])

    def module(self, params, in_shape):
        return call("LeakyReLU", [check_hypers(OPS["leaky_relu"], params)["slope"]], {})


@torch_rule("sigmoid")
class SigmoidRule(TorchRule):
    modules = {nn.Sigmoid: pointwise_module("sigmoid")}
    functions = {torch.sigmoid: pointwise("sigmoid"), F.sigmoid: pointwise("sigmoid")}
    methods = {"sigmoid": pointwise("sigmoid")}
    supported = ("nn.Sigmoid", "torch.sigmoid")

    def forward(self, xs, params, buffers, hp, op):
        return torch.sigmoid(xs[0])

    def module(self, params, in_shape):
        return "nn.Sigmoid()"


@torch_rule("tanh")
class TanhRule(TorchRule):
    modules = {nn.Tanh: pointwise_module("tanh")}
    functions = {torch.tanh: pointwise("tanh"), F.tanh: pointwise("tanh")}
    methods = {"tanh": pointwise("tanh")}
    supported = ("nn.Tanh", "torch.tanh")

    def forward(self, xs, params, buffers, hp, op):
        return torch.tanh(xs[0])

    def module(self, params, in_shape):
        return "nn.Tanh()"


def _softmax_of(ctx, value, dim, dtype=None):
    x = ctx.tensor(value)
    if axis(dim, x) != 1 or dtype is not None:
        raise ctx.fail(f"softmax over dim={dim!r} is not supported: bpviz's softmax is over "
                       "dim=1")
    return ctx.add("softmax", [x])


def _softmax_fn(ctx, input, dim=None, _stacklevel=3, dtype=None):
    return _softmax_of(ctx, input, dim, dtype)


@torch_rule("softmax")
class SoftmaxRule(TorchRule):
    modules = {nn.Softmax: lambda ctx, m, input: _softmax_of(ctx, input, m.dim)}
    functions = {F.softmax: _softmax_fn, torch.softmax: _softmax_fn}
    methods = {"softmax": _softmax_fn}
    supported = ("nn.Softmax(dim=1)", "F.softmax(dim=1)")

    def forward(self, xs, params, buffers, hp, op):
        return F.softmax(xs[0], dim=1)

    def module(self, params, in_shape):
        return "nn.Softmax(dim=1)"


def _gelu(ctx, input, approximate="none"):
    if approximate != "tanh":
        raise ctx.fail(f"GELU with approximate={approximate!r} (the exact erf form) is not "
                       "supported: bpviz's gelu is the tanh form, approximate='tanh'")
    return ctx.add("gelu", [ctx.tensor(input)])


@torch_rule("gelu")
class GELURule(TorchRule):
    """F.gelu(x, approximate="tanh"); the exact erf form is refused (it differs by up to 5e-4)."""

    modules = {nn.GELU: lambda ctx, m, input: _gelu(ctx, input, m.approximate)}
    functions = {F.gelu: _gelu}
    supported = ("nn.GELU(approximate='tanh')", "F.gelu(x, approximate='tanh')")

    def forward(self, xs, params, buffers, hp, op):
        return F.gelu(xs[0], approximate="tanh")

    def module(self, params, in_shape):
        return "nn.GELU(approximate='tanh')"
