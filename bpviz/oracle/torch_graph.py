"""The same network, built again with torch.nn.functional.

One function per op name, all with the signature

    fn(xs, params, buffers, hp, op) -> torch.Tensor

xs are the node's input tensors in input order (a loss gets its target
appended as the last one, as the engine's executor calls `forward(pred,
target)`), params and buffers are torch tensors keyed like `op.params` and
`op.buffers`, hp is `op.hp` with the defaults filled, and op is the engine's
op itself (read for `op.training` and, for dropout, the mask the engine drew).

Buffers are updated in place where torch does so (batchnorm running
statistics in training mode), so the caller can compare them afterwards.
This module is written from torch's documentation, independently of the
engine's NumPy code: it shares nothing with it but hyperparameter names.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from bpviz.engine.executor import Network
from bpviz.engine.op import Op, pair

Tensor = torch.Tensor
TorchFn = Callable[[list[Tensor], dict[str, Tensor], dict[str, Tensor], dict, Op], Tensor]


class OracleError(ValueError):
    """The network cannot be rebuilt in torch (an op without a torch reference)."""


def _input(xs, params, buffers, hp, op):
    return xs[0]


def _dense(xs, params, buffers, hp, op):
    return F.linear(xs[0], params["weight"], params.get("bias"))


def _flatten(xs, params, buffers, hp, op):
    return torch.flatten(xs[0], 1)


def _conv2d(xs, params, buffers, hp, op):
    return F.conv2d(xs[0], params["weight"], params.get("bias"), stride=pair(hp["stride"]),
                    padding=pair(hp["padding"]), dilation=pair(hp["dilation"]))


def _pool_args(hp) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    kernel = pair(hp["kernel"])
    stride = kernel if hp.get("stride") is None else pair(hp["stride"])
    return kernel, stride, pair(hp.get("padding", 0))


def _maxpool2d(xs, params, buffers, hp, op):
    kernel, stride, padding = _pool_args(hp)
    return F.max_pool2d(xs[0], kernel, stride, padding)


def _avgpool2d(xs, params, buffers, hp, op):
    kernel, stride, padding = _pool_args(hp)
    return F.avg_pool2d(xs[0], kernel, stride, padding, count_include_pad=True)


def _global_avgpool(xs, params, buffers, hp, op):
    return xs[0].mean(dim=(2, 3))


def _relu(xs, params, buffers, hp, op):
    return F.relu(xs[0])


def _leaky_relu(xs, params, buffers, hp, op):
    return F.leaky_relu(xs[0], hp["slope"])


def _sigmoid(xs, params, buffers, hp, op):
    return torch.sigmoid(xs[0])


def _tanh(xs, params, buffers, hp, op):
    return torch.tanh(xs[0])


def _softmax(xs, params, buffers, hp, op):
    return F.softmax(xs[0], dim=1)


def _add(xs, params, buffers, hp, op):
    total = xs[0]
    for x in xs[1:]:
        total = total + x
    return total


def _concat(xs, params, buffers, hp, op):
    return torch.cat(xs, dim=1)


def _batchnorm(xs, params, buffers, hp, op):
    return F.batch_norm(xs[0], buffers["running_mean"], buffers["running_var"],
                        params.get("weight"), params.get("bias"), training=op.training,
                        momentum=hp["momentum"], eps=hp["eps"])


def _dropout(xs, params, buffers, hp, op):
    if not op.training:
        return xs[0]
    mask = getattr(op, "mask", None)
    if mask is None:
        raise OracleError("dropout ran in training mode without recording op.mask")
    return xs[0] * torch.from_numpy(np.array(mask)).to(xs[0].dtype)


def _like(target: Tensor, pred: Tensor) -> Tensor:
    """A float target in the prediction's dtype, as the engine's losses take it."""
    return target.to(pred.dtype)


def _mse(xs, params, buffers, hp, op):
    return F.mse_loss(xs[0], _like(xs[1], xs[0]), reduction=hp["reduction"])


def _bce(xs, params, buffers, hp, op):
    return F.binary_cross_entropy(xs[0], _like(xs[1], xs[0]), reduction=hp["reduction"])


def _bce_with_logits(xs, params, buffers, hp, op):
    return F.binary_cross_entropy_with_logits(xs[0], _like(xs[1], xs[0]),
                                              reduction=hp["reduction"])


def _softmax_cross_entropy(xs, params, buffers, hp, op):
    return F.cross_entropy(xs[0], xs[1].long(), reduction=hp["reduction"])


TORCH_OPS: dict[str, TorchFn] = {
    "input": _input, "dense": _dense, "flatten": _flatten, "conv2d": _conv2d,
    "maxpool2d": _maxpool2d, "avgpool2d": _avgpool2d, "global_avgpool": _global_avgpool,
    "relu": _relu, "leaky_relu": _leaky_relu, "sigmoid": _sigmoid, "tanh": _tanh,
    "softmax": _softmax, "add": _add, "concat": _concat, "batchnorm": _batchnorm,
    "dropout": _dropout, "mse": _mse, "bce": _bce, "bce_with_logits": _bce_with_logits,
    "softmax_cross_entropy": _softmax_cross_entropy,
}


def torch_fn(op_name: str) -> TorchFn:
    """The torch reference of an op; OracleError names the op when there is none."""
    try:
        return TORCH_OPS[op_name]
    except KeyError:
        known = ", ".join(sorted(TORCH_OPS))
        raise OracleError(f"no torch reference for op '{op_name}' (known: {known})") from None


def run_graph(network: Network, leaves: dict[str, Tensor],
              params: dict[str, dict[str, Tensor]], buffers: dict[str, dict[str, Tensor]],
              targets: dict[str, Tensor]) -> dict[str, Tensor]:
    """Every node's output, in network.order.

    leaves: input node id → the batch (a leaf tensor); params/buffers: node id
    → that node's tensors; targets: loss node id → its target tensor. Every
    output is a tensor of its own, never one of its inputs, so that the
    gradient with respect to it is that node's ∂L/∂out and nobody else's.
    """
    outputs: dict[str, Tensor] = {}
    for node in network.order:
        fn = torch_fn(node.op.op_name)
        if node.op.op_name == "input":
            xs = [leaves[node.id]]
        else:
            xs = [outputs[source] for source in node.inputs]
        if node.op.is_loss:
            xs.append(targets[node.id])
        out = fn(xs, params.get(node.id, {}), buffers.get(node.id, {}), node.op.hp, node.op)
        if node.op.op_name != "input" and any(out is x for x in xs):
            out = out.view_as(out)  # an identity (eval dropout, flat flatten)
        outputs[node.id] = out
    return outputs


def total_loss(network: Network, outputs: dict[str, Tensor]) -> Tensor:
    """L as the executor defines it: Σ loss outputs, else Σ of every sink's elements."""
    seeds = network.losses or [i for i, used in network.consumers.items() if not used]
    return sum((outputs[i].sum() for i in seeds[1:]), outputs[seeds[0]].sum())


def torch_tensors(network: Network, dtype: torch.dtype = torch.float64
                  ) -> tuple[dict[str, dict[str, Tensor]], dict[str, dict[str, Tensor]]]:
    """(params, buffers) for run_graph: copies of the network's arrays, as leaf tensors.

    The parameters of trainable nodes require grad (a torch optimizer can take
    them); those of frozen nodes and all buffers do not.
    """
    params = {node.id: {k: torch.tensor(np.array(v), dtype=dtype,
                                        requires_grad=node.op.trainable)
                        for k, v in node.op.params.items()} for node in network.order}
    buffers = {node.id: {k: torch.tensor(np.array(v), dtype=dtype)
                         for k, v in node.op.buffers.items()} for node in network.order}
    return params, buffers
