"""The same network, built again with torch: each node through its op's torch rule.

Every op's functional forward is its TorchRule's (bpviz.oracle.rules), with
the signature

    forward(xs, params, buffers, hp, op) -> torch.Tensor

Buffers are updated in place where torch does so (batchnorm running
statistics in training mode), so the caller can compare them afterwards.
The rules are written from torch's documentation, independently of the
engine's NumPy code: they share nothing with it but hyperparameter names.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bpviz.engine.executor import Network
from bpviz.engine.op import Op
from bpviz.oracle.rules import OracleError, rule_for

__all__ = ["OracleError", "run_graph", "shared", "torch_dtype", "torch_fn", "torch_tensors",
           "total_loss"]

Tensor = torch.Tensor
TorchFn = Callable[[list[Tensor], dict[str, Tensor], dict[str, Tensor], dict, Op], Tensor]


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def shared(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A tensor on the array's own memory when its dtype is `dtype`, else a copy."""
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)


def torch_fn(op_name: str) -> TorchFn:
    """The torch reference of an op; OracleError names the op when there is none."""
    return rule_for(op_name).forward


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
