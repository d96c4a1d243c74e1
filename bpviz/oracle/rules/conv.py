"""The torch counterpart of conv2d."""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from bpviz.engine.op import non_default, pair
from bpviz.oracle.import_rules import image, int_pair, pair_param, trainable
from bpviz.oracle.interop import Context
from bpviz.oracle.rules.base import TorchRule, call, changed, torch_rule


def _padding(ctx: Context, m: nn.Conv2d) -> tuple[int, int]:
    if not isinstance(m.padding, str):
        return int_pair(m.padding)
    if m.padding == "valid":
        return 0, 0
    spans = [d * (k - 1) for k, d in zip(m.kernel_size, m.dilation)]  # 'same'
    if any(span % 2 for span in spans):
        raise ctx.fail("nn.Conv2d with padding='same' and an even kernel pads one side more "
                       "than the other, which bpviz cannot do")
    return spans[0] // 2, spans[1] // 2


def _conv2d(ctx: Context, m: nn.Conv2d, input):
    x = image(ctx, input, "nn.Conv2d")
    if m.groups != 1 or m.padding_mode != "zeros":
        raise ctx.fail(f"nn.Conv2d with groups={m.groups} and padding_mode='{m.padding_mode}' "
                       "is not supported: bpviz convolves with groups=1 and zero padding")
    if m.in_channels != x.shape[0]:
        raise ctx.fail(f"nn.Conv2d expects {m.in_channels} channels, its input has {x.shape[0]}")
    params = {"out_channels": m.out_channels, "kernel": pair_param(m.kernel_size),
              "stride": pair_param(m.stride), "padding": pair_param(_padding(ctx, m)),
              "dilation": pair_param(m.dilation), "bias": m.bias is not None}
    return ctx.add("conv2d", [x], non_default("conv2d", params),
                   {"weight": m.weight, "bias": m.bias}, trainable(m))


@torch_rule("conv2d")
class Conv2dRule(TorchRule):
    """F.conv2d; nn.Conv2d with groups=1 and zero padding."""

    modules = {nn.Conv2d: _conv2d}
    by_channel = True
    supported = ("nn.Conv2d (groups=1; padding a number, a pair, 'valid', or 'same' with an "
                 "odd kernel)", "")

    def forward(self, xs, params, buffers, hp, op):
        return F.conv2d(xs[0], params["weight"], params.get("bias"), stride=pair(hp["stride"]),
                        padding=pair(hp["padding"]), dilation=pair(hp["dilation"]))

    def module(self, params, in_shape):
        keywords = {"kernel_size": params["kernel"]}
        keywords.update(changed("conv2d", params, ("stride", "padding", "dilation", "bias")))
        return call("Conv2d", [in_shape[0], params["out_channels"]], keywords)
