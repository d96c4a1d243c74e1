"""One torch pass of a network for the comparison, lean on memory.

`forward` builds the pass (bpviz.oracle.torch_graph) on tensors that share
the network's parameter arrays when the dtype allows it (no copy of the
weights), with copies of the buffers (batchnorm updates them) and the feeds.
`TorchPass.backward` then runs autograd once, and hands each parameter's
∂L/∂θ to a callback the moment it is complete, dropping it from the tensor
(`register_post_accumulate_grad_hook`), so that a caller that compares and
forgets never holds more than one parameter gradient; the graph's saved
tensors are released as backward walks it. ∂L/∂out of every node is caught
on its way through (tensor hooks): zero where torch finds no path to L.
`magnitude` is the rounding model's "what was summed" of a parameter gradient
(bpviz.oracle.compare).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from bpviz.engine.executor import Network
from bpviz.oracle.torch_graph import run_graph, torch_fn, total_loss

Snapshot = dict[str, dict[str, np.ndarray]]
ParamSink = Callable[[str, str, np.ndarray], None]


def torch_dtype(dtype: np.dtype) -> torch.dtype:
    return torch.float64 if np.dtype(dtype) == np.float64 else torch.float32


def shared(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    """A tensor on the array's own memory when its dtype is `dtype`, else a copy."""
    return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype)


def _target(value: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return torch.tensor(value, dtype=dtype)
    return torch.tensor(value, dtype=torch.int64)


class TorchPass:
    """A forward pass whose backward is still to come; see the module docstring."""

    def __init__(self, network: Network, feeds, targets, buffers: Snapshot,
                 dtype: np.dtype, param_grads: bool = True) -> None:
        t_dtype = torch_dtype(dtype)
        self.network = network
        leaves = {k: torch.tensor(np.asarray(v), dtype=t_dtype, requires_grad=True)
                  for k, v in feeds.items()}
        self.params = {node.id: {k: shared(v, t_dtype).requires_grad_(
            param_grads and node.op.trainable) for k, v in node.op.params.items()}
            for node in network.order}
        self.buffers = {i: {k: torch.tensor(v, dtype=t_dtype) for k, v in store.items()}
                        for i, store in buffers.items()}
        t_targets = {k: _target(v, t_dtype) for k, v in (targets or {}).items()}
        self.outputs = run_graph(network, leaves, self.params, self.buffers, t_targets)
        self.loss_tensor = total_loss(network, self.outputs)
        self.loss = float(self.loss_tensor.detach())
        self.values = {i: t.detach().numpy() for i, t in self.outputs.items()}
        self.grads: dict[str, np.ndarray | None] = {
            i: (np.zeros(tuple(t.shape), self.values[i].dtype) if t.requires_grad else None)
            for i, t in self.outputs.items()}
        self.param_grads: dict[str, dict[str, np.ndarray]] = {i: {} for i in self.outputs}

    def backward(self, on_param_grad: ParamSink | None = None) -> None:
        """∂L/∂out into `grads`; each ∂L/∂θ to `on_param_grad(node, name, grad)` (default:
        kept in `param_grads`). The graph is gone afterwards."""
        sink = on_param_grad or (lambda i, k, g: self.param_grads[i].__setitem__(k, g))
        for i, out in self.outputs.items():
            if out.requires_grad:
                out.register_hook(self._grad_catcher(i))
        pending = {(i, k) for i, store in self.params.items()
                   for k, t in store.items() if t.requires_grad}
        for i, k in pending:
            self.params[i][k].register_post_accumulate_grad_hook(
                self._param_catcher(i, k, sink, pending))
        outputs, loss = self.outputs, self.loss_tensor
        self.outputs = self.loss_tensor = None  # backward frees the graph as it goes
        if loss.requires_grad:
            loss.backward()
        del outputs, loss
        for i, k in sorted(pending):  # no path from θ to L: ∂L/∂θ = 0
            sink(i, k, np.zeros(tuple(self.params[i][k].shape), self.values[i].dtype))

    def _grad_catcher(self, node_id: str):
        def catch(grad: torch.Tensor) -> None:
            self.grads[node_id] = grad.detach().numpy().copy()
        return catch

    def _param_catcher(self, node_id: str, name: str, sink: ParamSink, pending: set):
        def catch(param: torch.Tensor) -> None:
            grad, param.grad = param.grad, None
            pending.discard((node_id, name))
            sink(node_id, name, grad.numpy())
        return catch

    def buffers_after(self) -> Snapshot:
        return {i: {k: t.numpy() for k, t in store.items()} for i, store in self.buffers.items()}


def magnitude(network: Network, node_id: str, values: dict[str, np.ndarray],
              grad_out: np.ndarray, buffers: Snapshot) -> dict[str, np.ndarray]:
    """Per parameter θ of the node, Σ_o |∂L/∂out_o| · |∂out_o/∂θ|: the magnitude of
    the terms its gradient sums. For a weight (dense, conv: every output linear
    in both input and weight) that is the gradient at |inputs| and |∂L/∂out|,
    Σ |x|·|∂L/∂out|; for a per-channel parameter (a bias, batchnorm's γ and β:
    each output depends on one of its entries, affinely) ∂out/∂θ is read off
    as f(θ + 1) − f(θ), and the sum is the gradient with ∂L/∂out's signs
    replaced by those of ∂out/∂θ. torch, in the values' dtype."""
    node = network.nodes[node_id]
    with torch.enable_grad():  # also from inside a backward pass, where grad mode is off
        return {name: np.abs(_summed(node, name, values, grad_out, buffers.get(node_id, {})))
                for name in node.op.params}


def _summed(node, name: str, values, grad_out: np.ndarray, buffers) -> np.ndarray:
    dtype = torch_dtype(grad_out.dtype)
    fn = torch_fn(node.op.op_name)
    xs = [torch.as_tensor(values[s], dtype=dtype) for s in node.inputs]
    params = {k: shared(v, dtype) for k, v in node.op.params.items()}

    def run(inputs, own: torch.Tensor) -> torch.Tensor:
        store = {k: torch.tensor(v, dtype=dtype) for k, v in buffers.items()}
        return fn(inputs, {**params, name: own}, store, node.op.hp, node.op)

    theta = params[name].detach().clone().requires_grad_()
    upstream = torch.as_tensor(np.abs(grad_out), dtype=dtype)
    if theta.dim() > 1:
        out = run([x.abs() for x in xs], theta)
    else:
        with torch.no_grad():
            slope = run(xs, theta + 1) - run(xs, theta)
        out = run(xs, theta)
        upstream = upstream * torch.sign(slope)
    (found,) = torch.autograd.grad(out, [theta], upstream, allow_unused=True)
    return np.zeros(tuple(theta.shape)) if found is None else found.numpy()
