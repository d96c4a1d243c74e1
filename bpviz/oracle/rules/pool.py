"""The torch counterparts of maxpool2d, avgpool2d and global_avgpool."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bpviz.engine.op import non_default, pair
from bpviz.oracle.import_rules import axis, image, int_pair, pair_param, same_as_floor
from bpviz.oracle.interop import Context, TensorValue
from bpviz.oracle.rules import kinks
from bpviz.oracle.rules.base import TorchRule, call, changed, torch_rule


def _pool_args(hp) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    kernel = pair(hp["kernel"])
    stride = kernel if hp.get("stride") is None else pair(hp["stride"])
    return kernel, stride, pair(hp.get("padding", 0))


def _pool(ctx: Context, op: str, value, kernel_size, stride, padding, dilation=1,
          ceil_mode=False) -> TensorValue:
    x = image(ctx, value, op)
    kernel = int_pair(kernel_size)
    strides = kernel if stride is None or stride == () else int_pair(stride)
    pads = int_pair(padding)
    if int_pair(dilation) != (1, 1):
        raise ctx.fail(f"{op} with dilation {pair_param(dilation)} is not supported: "
                       "bpviz pools without dilation")
    if ceil_mode and not same_as_floor(ctx, x, kernel, strides, pads):
        raise ctx.fail(f"{op} with ceil_mode=True gives a larger output here than bpviz, "
                       "which rounds down (ceil_mode=False)")
    params = {"kernel": pair_param(kernel), "stride": pair_param(strides),
              "padding": pair_param(pads)}
    return ctx.add(op, [x], non_default(op, params))


def _max_pool(ctx, input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
              return_indices=False):
    if return_indices:
        raise ctx.fail("max pooling with return_indices=True is not supported")
    return _pool(ctx, "maxpool2d", input, kernel_size, stride, padding, dilation, ceil_mode)


def _avg_pool(ctx, input, kernel_size, stride=None, padding=0, ceil_mode=False,
              count_include_pad=True, divisor_override=None):
    if divisor_override is not None:
        raise ctx.fail("average pooling with divisor_override is not supported")
    if not count_include_pad and int_pair(padding) != (0, 0):
        raise ctx.fail("average pooling with count_include_pad=False and padding is not "
                       "supported: bpviz counts the padded zeros in the average")
    return _pool(ctx, "avgpool2d", input, kernel_size, stride, padding, 1, ceil_mode)


def _pool_module(name: str, params: dict) -> str:
    keywords = {"kernel_size": params["kernel"]}
    keywords.update(changed(name, params, ("stride", "padding")))
    return call("MaxPool2d" if name == "maxpool2d" else "AvgPool2d", [], keywords)


@torch_rule("maxpool2d")
class MaxPool2dRule(TorchRule):
    """F.max_pool2d; nn.MaxPool2d without dilation, ceil_mode only where it changes nothing."""

    modules = {nn.MaxPool2d: lambda ctx, m, input: _max_pool(
        ctx, input, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode,
        m.return_indices)}
    functions = {F.max_pool2d: _max_pool, torch.max_pool2d: _max_pool}
    supported = ("nn.MaxPool2d", "F.max_pool2d")

    def forward(self, xs, params, buffers, hp, op):
        """F.max_pool2d; a near-tie goes to the engine's winner (bpviz.oracle.rules.kinks)."""
        kernel, stride, padding = _pool_args(hp)
        x = xs[0]
        if not kinks.active():
            return F.max_pool2d(x, kernel, stride, padding)
        pooled, index = F.max_pool2d(x, kernel, stride, padding, return_indices=True)
        winner = kinks.engine_state(op.winner, tuple(pooled.shape))
        if winner is None or bool(torch.isnan(x.detach()).any()):
            return pooled
        return kinks.pool_winners(x, pooled, index, op, winner, kernel, stride, padding)

    def module(self, params, in_shape):
        return _pool_module(self.op_name, params)


@torch_rule("avgpool2d")
class AvgPool2dRule(TorchRule):
    """F.avg_pool2d counting the padded zeros (count_include_pad=True); nn.AvgPool2d."""

    modules = {nn.AvgPool2d: lambda ctx, m, input: _avg_pool(
        ctx, input, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
        m.divisor_override)}
    functions = {F.avg_pool2d: _avg_pool}
    supported = ("nn.AvgPool2d", "F.avg_pool2d")

    def forward(self, xs, params, buffers, hp, op):
        kernel, stride, padding = _pool_args(hp)
        return F.avg_pool2d(xs[0], kernel, stride, padding, count_include_pad=True)

    def module(self, params, in_shape):
        return _pool_module(self.op_name, params)


# -- global average pooling: x.mean((2, 3)), adaptive pooling to 1 ----------------------
def _global_pool(ctx: Context, value, keepdim: bool) -> TensorValue:
    x = image(ctx, value, "global average pooling")
    return ctx.add("global_avgpool", [x], torch_shape=(x.shape[0], 1, 1) if keepdim else None)


def _adaptive_avg_pool(ctx, input, output_size):
    if pair_param(output_size) != 1:
        raise ctx.fail(f"adaptive average pooling to {output_size!r} is not supported: only "
                       "to 1 (global average pooling)")
    return _global_pool(ctx, input, keepdim=True)


def _mean(ctx, input, dim=None, keepdim=False, dtype=None):
    x = ctx.tensor(input)
    dims = dim if isinstance(dim, (tuple, list)) else (dim,)
    if len(x.shape) != 3 or dtype is not None or {axis(d, x) for d in dims} != {2, 3}:
        raise ctx.fail(f"mean over {dim!r}: bpviz supports only the mean over the spatial "
                       "axes (2, 3) of an image batch (global average pooling)")
    return _global_pool(ctx, x, keepdim)


@torch_rule("global_avgpool")
class GlobalAvgPoolRule(TorchRule):
    """x.mean((2, 3)); nn.AdaptiveAvgPool2d(1) and F.adaptive_avg_pool2d(x, 1) too."""

    modules = {nn.AdaptiveAvgPool2d: lambda ctx, m, input: _adaptive_avg_pool(
        ctx, input, m.output_size)}
    functions = {F.adaptive_avg_pool2d: _adaptive_avg_pool, torch.mean: _mean}
    methods = {"mean": _mean}
    supported = ("nn.AdaptiveAvgPool2d(1)", "F.adaptive_avg_pool2d(x, 1), x.mean((2, 3))")

    def forward(self, xs, params, buffers, hp, op):
        return xs[0].mean(dim=(2, 3))

    def expression(self, args):
        return f"{args[0]}.mean((2, 3))"
