"""The torch counterparts of batchnorm and dropout."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bpviz.engine.op import non_default
from bpviz.engine.shape_text import batch_text
from bpviz.oracle.import_rules import trainable
from bpviz.oracle.rules.base import OracleError, TorchRule, call, changed, torch_rule


def _batchnorm(ctx, m: nn.modules.batchnorm._BatchNorm, input):
    x = ctx.tensor(input)
    axes = 3 if isinstance(m, nn.BatchNorm2d) else 1
    name = type(m).__name__
    if len(x.shape) != axes:
        raise ctx.fail(f"{name} on a {batch_text(x.shape)} tensor is not supported")
    if not m.affine or not m.track_running_stats or m.momentum is None:
        raise ctx.fail(f"{name} needs affine=True, track_running_stats=True and a momentum "
                       "(not None) to match bpviz's batchnorm")
    if m.num_features != x.shape[0]:
        raise ctx.fail(f"{name} expects {m.num_features} channels, its input has {x.shape[0]}")
    params = non_default("batchnorm", {"eps": float(m.eps), "momentum": float(m.momentum)})
    tensors = {"weight": m.weight, "bias": m.bias, "running_mean": m.running_mean,
               "running_var": m.running_var}
    return ctx.add("batchnorm", [x], params, tensors, trainable(m))


@torch_rule("batchnorm")
class BatchNormRule(TorchRule):
    """F.batch_norm, updating the running statistics in place in training (as torch);
    nn.BatchNorm2d for images, nn.BatchNorm1d for features."""

    modules = {nn.BatchNorm2d: _batchnorm, nn.BatchNorm1d: _batchnorm}
    supported = ("nn.BatchNorm2d, nn.BatchNorm1d", "")

    def forward(self, xs, params, buffers, hp, op):
        return F.batch_norm(xs[0], buffers["running_mean"], buffers["running_var"],
                            params.get("weight"), params.get("bias"), training=op.training,
                            momentum=hp["momentum"], eps=hp["eps"])

    def module(self, params, in_shape):
        cls = "BatchNorm2d" if len(in_shape) == 3 else "BatchNorm1d"
        return call(cls, [in_shape[0]], changed("batchnorm", params, ("eps", "momentum")))


def _dropout_fn(ctx, input, p=0.5, training=True, inplace=False):
    raise ctx.fail("F.dropout in forward is not supported (its training flag is fixed when "
                   "tracing): use an nn.Dropout module")


@torch_rule("dropout")
class DropoutRule(TorchRule):
    """The engine's own mask (op.mask) in training, so the comparison is exact; nn.Dropout."""

    modules = {nn.Dropout: lambda ctx, m, input: ctx.add(
        "dropout", [ctx.tensor(input)], non_default("dropout", {"p": float(m.p)}))}
    functions = {F.dropout: _dropout_fn}
    supported = ("nn.Dropout", "")

    def forward(self, xs, params, buffers, hp, op):
        if not op.training:
            return xs[0]
        mask = getattr(op, "mask", None)
        if mask is None:
            raise OracleError("dropout ran in training mode without recording op.mask")
        return xs[0] * torch.from_numpy(np.array(mask)).to(xs[0].dtype)

    def module(self, params, in_shape):
        return call("Dropout", [], changed("dropout", params, ("p",)))
