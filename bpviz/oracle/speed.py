"""The torch side of the speed benchmark (bpviz.bench.speed): the same graph, timed in torch.

A Network's graph runs through bpviz.oracle.torch_graph with copies of the
engine's parameters, batch and targets; one step is a forward pass and the
gradients of every trainable parameter and every input, as the engine's
forward and backward compute them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bpviz.engine.executor import Network
from bpviz.oracle.torch_graph import run_graph, total_loss


def torch_step(network: Network, feeds: dict[str, np.ndarray],
               targets: dict[str, np.ndarray]) -> Callable[[], tuple]:
    """A function that runs one forward and backward pass in torch (gradients returned:
    the inputs' first, in feed order, then every trainable parameter's)."""
    leaves = {i: torch.from_numpy(x.copy()).requires_grad_(True) for i, x in feeds.items()}
    params = {n.id: {k: torch.from_numpy(v.copy()).requires_grad_(n.op.trainable)
                     for k, v in n.op.params.items()} for n in network.order}
    buffers = {n.id: {k: torch.from_numpy(v.copy()) for k, v in n.op.buffers.items()}
               for n in network.order}
    labels = {i: torch.from_numpy(np.asarray(t)) for i, t in targets.items()}
    wanted = list(leaves.values()) + [t for p in params.values() for t in p.values()
                                      if t.requires_grad]

    def step() -> tuple:
        outputs = run_graph(network, leaves, params, buffers, labels)
        return torch.autograd.grad(total_loss(network, outputs), wanted)

    return step


def use_threads(count: int) -> int:
    """Run torch's CPU kernels on `count` threads; returns the number in force."""
    torch.set_num_threads(count)
    return torch.get_num_threads()


def torch_version() -> str:
    return torch.__version__
