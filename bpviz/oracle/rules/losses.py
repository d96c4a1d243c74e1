"""The torch counterparts of the losses (export-torch writes them in a loss method)."""

from __future__ import annotations

import torch.nn.functional as F

from bpviz.oracle.rules.base import TorchRule, torch_rule


def _like(target, pred):
    """A float target in the prediction's dtype, as the engine's losses take it."""
    return target.to(pred.dtype)


@torch_rule("mse")
class MSERule(TorchRule):
    def forward(self, xs, params, buffers, hp, op):
        return F.mse_loss(xs[0], _like(xs[1], xs[0]), reduction=hp["reduction"])

    def loss_code(self, prediction, target, reduction):
        return f"F.mse_loss({prediction}, {target}.to({prediction}.dtype), reduction={reduction})"


@torch_rule("bce")
class BCERule(TorchRule):
    def forward(self, xs, params, buffers, hp, op):
        return F.binary_cross_entropy(xs[0], _like(xs[1], xs[0]), reduction=hp["reduction"])

    def loss_code(self, prediction, target, reduction):
        return (f"F.binary_cross_entropy({prediction}, {target}.to({prediction}.dtype), "
                f"reduction={reduction})")


@torch_rule("bce_with_logits")
class BCEWithLogitsRule(TorchRule):
    def forward(self, xs, params, buffers, hp, op):
        return F.binary_cross_entropy_with_logits(xs[0], _like(xs[1], xs[0]),
                                                  reduction=hp["reduction"])

    def loss_code(self, prediction, target, reduction):
        return (f"F.binary_cross_entropy_with_logits({prediction}, "
                f"{target}.to({prediction}.dtype), reduction={reduction})")


@torch_rule("softmax_cross_entropy")
class SoftmaxCrossEntropyRule(TorchRule):
    """F.cross_entropy of the logits and the integer labels."""

    def forward(self, xs, params, buffers, hp, op):
        return F.cross_entropy(xs[0], xs[1].long(), reduction=hp["reduction"])

    def loss_code(self, prediction, target, reduction):
        return f"F.cross_entropy({prediction}, {target}.long(), reduction={reduction})"
