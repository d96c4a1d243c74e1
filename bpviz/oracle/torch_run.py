"""One torch pass of a network for the comparison, lean on memory.

`forward` builds the pass (bpviz.oracle.torch_graph) on tensors that share
the network's parameter arrays when the dtype allows it (no copy of the
weights), with copies of the buffers (batchnorm updates them) and the feeds.
`TorchPass.backward` then runs autograd once, and hands each parameter's
∂L/∂θ to a callback the moment it is complete, dropping it from the tensor
(`register_post_accumulate_grad_hook`), so that a caller that compares and
forgets never holds more than one parameter gradient; the graph's saved
tensors are released as backward walks it. ∂L/∂out of every node is caught
on its way through (tensor hooks), kept or handed to a callback as well:
zero where torch finds no path to L. The rounding model of a parameter
gradient is bpviz.oracle.rounding.

A parameter larger than `split_above` entries, of an op whose rule reads
it by channel (`TorchRule.by_channel`: dense, conv2d), is not a leaf that
requires grad: torch would make its whole ∂L/∂θ at once (fc6 of VGG16: 103 M
entries). It is handed over instead as `RowBlocks` the moment the node's
∂L/∂out is known: torch autograd again, of the node's rule run on a block of
rows of θ (those output channels only), a block at a time, so that only one
block of torch's ∂L/∂θ lives at once.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import nullcontext

import numpy as np
import torch

from bpviz.engine.executor import Network
from bpviz.oracle import rounding
from bpviz.oracle.rules import rule_for
from bpviz.oracle.torch_graph import run_graph, shared, torch_dtype, torch_fn, total_loss

Snapshot = dict[str, dict[str, np.ndarray]]
ParamSink = Callable[[str, str, "np.ndarray | RowBlocks"], None]
GradSink = Callable[[str, np.ndarray], None]
SPLIT_ABOVE = 2**22  # entries: a larger parameter of a by-channel op is split (compare)
BLOCK_ENTRIES = 2**20  # a split gradient's block of rows holds at most this many entries


def return_freed_memory() -> None:
    """Give the heap's freed pages back to the system (glibc's malloc_trim; elsewhere a
    no-op): the engine keeps freed memory for speed (bpviz.engine.scratch), which
    after a whole pass is memory nobody will use before the next big allocation."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.malloc_trim(0)
        except (OSError, AttributeError):
            pass


def _target(value: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return torch.tensor(value, dtype=dtype)
    return torch.tensor(value, dtype=torch.int64)


class CastParams(Mapping):
    """node id → its parameters cast to another dtype, made when run_graph asks and
    not kept: a saved-tensor hook keeps a cast weight that autograd saves for
    backward as the recipe (node, name) and casts it again there (exactly: the
    values are the same), so that no more than one node's cast weights live at once."""

    def __init__(self, network: Network, dtype: torch.dtype) -> None:
        self.network, self.dtype = network, dtype
        self.current: dict[int, tuple[str, str]] = {}  # data_ptr of a live cast → recipe

    def __getitem__(self, node_id: str) -> dict[str, torch.Tensor]:
        params = {k: self.cast(node_id, k) for k in self.network.nodes[node_id].op.params}
        self.current = {t.data_ptr(): (node_id, k) for k, t in params.items()}
        return params

    def __iter__(self) -> Iterator[str]:
        return iter(self.network.nodes)

    def __len__(self) -> int:
        return len(self.network.nodes)

    def cast(self, node_id: str, name: str) -> torch.Tensor:
        return torch.as_tensor(self.network.nodes[node_id].op.params[name], dtype=self.dtype)

    def hooks(self):
        def pack(tensor: torch.Tensor):
            recipe = self.current.get(tensor.data_ptr())
            if recipe is None or tensor.dtype != self.dtype:
                return tensor
            return (*recipe, tuple(tensor.shape), tensor.stride(), tensor.storage_offset())

        def unpack(packed):
            if not isinstance(packed, tuple):
                return packed
            node_id, name, size, stride, offset = packed  # a view of it, e.g. transposed
            return torch.as_strided(self.cast(node_id, name), size, stride, offset)

        return torch.autograd.graph.saved_tensors_hooks(pack, unpack)


class TorchPass:
    """A forward pass whose backward is still to come; see the module docstring.

    With param_grads False (the run in the other precision) no ∂L/∂θ is computed
    and parameters of another dtype are cast node by node (CastParams); `values`
    and `grads` are kept in `keep` (a narrower dtype costs less; rounding to
    float32 moves a float64 result by half a float32 ulp).
    """

    def __init__(self, network: Network, feeds, targets, buffers: Snapshot,
                 dtype: np.dtype, param_grads: bool = True, keep: np.dtype | None = None,
                 split_above: int | None = None) -> None:
        t_dtype = torch_dtype(dtype)
        self.network, self.keep, self.dtype = network, keep, np.dtype(dtype)
        leaves = {k: torch.tensor(np.asarray(v), dtype=t_dtype, requires_grad=True)
                  for k, v in feeds.items()}
        cast = None
        # node id → its parameters handed over in blocks of rows (module docstring)
        self.split: dict[str, list[str]] = {}
        if param_grads:
            self.params = {node.id: {k: shared(v, t_dtype) for k, v in node.op.params.items()}
                           for node in network.order}
            for node in network.order:
                for k, tensor in self.params[node.id].items():
                    if (split_above is not None and node.op.trainable
                            and tensor.numel() > split_above
                            and rule_for(node.op.op_name).by_channel):
                        self.split.setdefault(node.id, []).append(k)
                    else:
                        tensor.requires_grad_(node.op.trainable)
        else:
            self.params = {}
            cast = CastParams(network, t_dtype)
        self._saving = cast.hooks() if cast is not None else nullcontext()
        self.buffers = {i: {k: torch.tensor(v, dtype=t_dtype) for k, v in store.items()}
                        for i, store in buffers.items()}
        t_targets = {k: _target(v, t_dtype) for k, v in (targets or {}).items()}
        with self._saving:
            self.outputs = run_graph(network, leaves, cast or self.params, self.buffers,
                                     t_targets)
        self._split_inputs = {i: [self.outputs[source] for source in network.nodes[i].inputs]
                              for i in self.split}
        # node id → the parameters whose ∂L/∂θ backward hands over, split or whole
        self.handed_over = {i: [k for k, t in store.items()
                                if t.requires_grad or k in self.split.get(i, ())]
                            for i, store in self.params.items()}
        self.loss_tensor = total_loss(network, self.outputs)
        self.loss = float(self.loss_tensor.detach())
        self.values = {i: self._kept(t.detach()) for i, t in self.outputs.items()}
        # node id → (shape, dtype) of ∂L/∂out where torch can differentiate the output
        self._differentiable = {i: (tuple(t.shape), self.values[i].dtype)
                                for i, t in self.outputs.items() if t.requires_grad}
        self.grads: dict[str, np.ndarray | None] = {i: None for i in self.outputs}
        self.param_grads: dict[str, dict[str, np.ndarray]] = {i: {} for i in self.outputs}

    def _kept(self, tensor: torch.Tensor) -> np.ndarray:
        array = tensor.numpy()
        return array if self.keep is None else array.astype(self.keep, copy=False)

    def requires_grad(self, node_id: str) -> bool:
        """Whether torch can differentiate the node's output (its ∂L/∂out is compared)."""
        return node_id in self._differentiable

    def backward(self, on_param_grad: ParamSink | None = None,
                 on_grad: GradSink | None = None) -> None:
        """Each ∂L/∂out to `on_grad(node, grad)` (default: kept in `grads`), each ∂L/∂θ
        to `on_param_grad(node, name, grad)` (default: kept in `param_grads`), grad an
        array or, for a split parameter, RowBlocks. A node torch finds no path
        from to L gets no call: its ∂L/∂out is zero. The graph is gone afterwards."""
        sink = on_param_grad or (lambda i, k, g: self.param_grads[i].__setitem__(k, g))
        for i, out in self.outputs.items():
            if out.requires_grad:
                out.register_hook(self._grad_catcher(i, sink, on_grad))
        pending = {(i, k) for i, store in self.params.items()
                   for k, t in store.items() if t.requires_grad}
        for i, k in pending:
            self.params[i][k].register_post_accumulate_grad_hook(
                self._param_catcher(i, k, sink, pending))
        outputs, loss = self.outputs, self.loss_tensor
        self.outputs = self.loss_tensor = None  # backward frees the graph as it goes
        if loss.requires_grad:
            with self._saving:
                loss.backward()
        del outputs, loss
        if on_grad is None:  # no path to L: ∂L/∂out = 0
            for i, (shape, dtype) in self._differentiable.items():
                if self.grads[i] is None:
                    self.grads[i] = np.zeros(shape, dtype)
        pending |= {(i, k) for i in self._split_inputs for k in self.split[i]}
        self._split_inputs = {}
        for i, k in sorted(pending):  # no path from θ to L: ∂L/∂θ = 0
            theta = self.params[i][k].detach()
            sink(i, k, np.zeros(tuple(theta.shape), theta.numpy().dtype))

    def _grad_catcher(self, node_id: str, sink: ParamSink, on_grad: GradSink | None):
        def catch(grad: torch.Tensor) -> None:
            if on_grad is not None:
                on_grad(node_id, grad.detach().numpy())
            else:
                self.grads[node_id] = (grad.detach().numpy().copy() if self.keep is None
                                       else self._kept(grad.detach()))
            inputs = self._split_inputs.pop(node_id, None)
            if inputs is not None:
                node = self.network.nodes[node_id]
                for name in self.split[node_id]:
                    sink(node_id, name, RowBlocks(node, name, inputs, self.params[node_id],
                                                  self.buffers.get(node_id, {}), grad.detach()))
        return catch

    def _param_catcher(self, node_id: str, name: str, sink: ParamSink, pending: set):
        def catch(param: torch.Tensor) -> None:
            grad, param.grad = param.grad, None
            pending.discard((node_id, name))
            sink(node_id, name, grad.numpy())
        return catch

    def buffers_after(self) -> Snapshot:
        return {i: {k: t.numpy() for k, t in store.items()} for i, store in self.buffers.items()}


class RowBlocks:
    """torch's ∂L/∂θ of one split parameter (module docstring), a block of rows at a time.

    Iterating yields (rows, block): rows a slice of θ's first axis, block
    torch's ∂L/∂θ[rows], made by autograd of the node's rule run on θ[rows]
    (and the same rows of its other parameters) with ∂L/∂out[:, rows]: the
    gradient of those output channels, which read nothing else of θ.
    """

    def __init__(self, node, name: str, inputs: list[torch.Tensor],
                 params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor],
                 grad_out: torch.Tensor) -> None:
        self.node, self.name, self.grad_out = node, name, grad_out
        self.inputs = [x.detach() for x in inputs]
        self.params = {k: t.detach() for k, t in params.items()}
        self.buffers = {k: t.detach().clone() for k, t in buffers.items()}
        self.shape = tuple(self.params[name].shape)
        self.dtype = self.params[name].numpy().dtype

    def row_blocks(self) -> Iterator[slice]:
        rows = self.shape[0]
        step = max(1, BLOCK_ENTRIES // max(1, math.prod(self.shape[1:])))
        return (slice(start, min(rows, start + step)) for start in range(0, rows, step))

    def __iter__(self) -> Iterator[tuple[slice, np.ndarray]]:
        fn = torch_fn(self.node.op.op_name)
        for rows in self.row_blocks():
            params = {k: t[rows] for k, t in self.params.items()}
            theta = params[self.name].requires_grad_()
            with torch.enable_grad():  # called from inside a backward pass, where it is off
                store = {k: t.clone() for k, t in self.buffers.items()}
                out = fn(self.inputs, params, store, self.node.op.hp, self.node.op)
                (block,) = torch.autograd.grad(out, [theta], self.grad_out[:, rows])
            yield rows, block.numpy()

    def largest_summed(self) -> float:
        """max Σ |t| over θ's entries, the terms its gradient sums (bpviz.oracle.rounding)."""
        largest = 0.0
        with torch.enable_grad():
            for rows in self.row_blocks():
                summed = rounding.summed(self.node, self.name, self.inputs, self.params,
                                         self.grad_out[:, rows].numpy(), self.buffers, rows)
                largest = max(largest, float(np.max(np.abs(summed), initial=0.0)))
        return largest

    def largest_other(self, other_inputs: list[np.ndarray], other_grad: np.ndarray,
                      dtype: np.dtype) -> float:
        """max |∂L/∂θ − the same in the other precision| (bpviz.oracle.rounding), a block
        of rows at a time."""
        params = {k: t.numpy() for k, t in self.params.items()}
        worst = 0.0
        for rows, block in self:
            theirs = rounding.other_precision(self.node, self.name, params, self.buffers,
                                              other_inputs, other_grad, dtype, rows)
            if theirs is not None:
                worst = max(worst, float(np.max(np.abs(block - theirs), initial=0.0)))
        return worst
