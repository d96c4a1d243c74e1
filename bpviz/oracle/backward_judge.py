"""The backward pass judged as torch makes it (bpviz.oracle.compare).

torch's backward hands over each node's ∂L/∂out and each parameter's ∂L/∂θ
the moment it is complete (bpviz.oracle.torch_run). The engine's backward is
run just as far as that node (an Executor that keeps nothing: each node's
output, ∂L/∂out and what its op kept for backward are let go once its
backward step is done), the two are compared, with the other precision's
∂L/∂out for the rounding allowance, and all of them are dropped, so that the
gradients of the whole pass never live at once. A parameter torch splits
(fc6's weight) comes as RowBlocks: each block of rows is compared with the
same rows of the engine's gradient as torch makes it, and the error and the
scale are the largest over the blocks, exactly as over the whole tensor.

What the rounding allowance of a parameter gradient reads (bpviz.oracle.rounding:
∂L/∂out of its node and the outputs of the node's inputs, in both of torch's
precisions) is kept until every parameter of the node is judged.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpviz.engine.executor import Executor, Network
from bpviz.oracle.agreement import ROUNDING_MULTIPLE, Pair, agrees, error, largest_entry
from bpviz.oracle.rounding import magnitude, other_precision
from bpviz.oracle.torch_run import RowBlocks, TorchPass

Snapshot = dict[str, dict[str, np.ndarray]]
Judged = Callable[[np.ndarray, np.ndarray, np.ndarray | None], Pair]


class BackwardJudge:
    """Judges ∂L/∂out and ∂L/∂θ of each node as torch hands them over.

    `grads[node]`: (error, scale) of ∂L/∂out, for every node whose output
    torch can differentiate; `pairs[node][name]`: (error, scale) of each
    parameter gradient. `judged(ours, reference, other)` is the comparison's
    rule for tensors with a measured rounding noise.
    """

    def __init__(self, network: Network, engine: Executor, theirs: TorchPass,
                 other: TorchPass, buffers: Snapshot, tol: float, dtype: np.dtype,
                 judged: Judged) -> None:
        self.network, self.theirs, self.other, self.buffers = network, theirs, other, buffers
        self.tol, self.eps, self.judged = tol, float(np.finfo(dtype).eps), judged
        # the other precision's noise counts at this precision's ε, as for outputs
        self.noise_factor = self.eps / float(np.finfo(np.float32).eps)
        self.steps = engine.backward()
        self.passed: set[str] = set()  # nodes the engine's backward is done with
        self.engine_grads: dict[str, dict[str, np.ndarray]] = {}
        self.engine_out: dict[str, np.ndarray] = {}  # ∂L/∂out torch has not reached yet
        self.grads: dict[str, Pair] = {}
        self.pairs: dict[str, dict[str, Pair]] = {node.id: {} for node in network.order}
        # what the rounding allowance reads, kept until the node's parameters are judged
        self.waiting = {node.id: set(theirs.handed_over[node.id]) for node in network.order
                        if theirs.handed_over.get(node.id)}
        self.readers: dict[str, int] = {}
        for node_id in self.waiting:
            for source in set(network.nodes[node_id].inputs):
                self.readers[source] = self.readers.get(source, 0) + 1
        theirs.values = {i: v for i, v in theirs.values.items() if i in self.readers}
        other.values = {i: v for i, v in other.values.items() if i in self.readers}
        self.other_out: dict[str, np.ndarray | None] = {}
        self.torch_out: dict[str, np.ndarray] = {}

    # -- the engine's side ------------------------------------------------------
    def advance(self, node_id: str | None = None) -> None:
        """The engine's backward up to `node_id` (None: to the end)."""
        while node_id not in self.passed:
            step = next(self.steps, None)
            if step is None:
                return
            self.passed.add(step.node)
            self.engine_grads[step.node] = dict(self.network.nodes[step.node].op.grads)
            self.engine_out[step.node] = step.grad_output

    # -- torch's side -----------------------------------------------------------
    def out_grad(self, node_id: str, reference: np.ndarray) -> None:
        """torch's ∂L/∂out of a node (an array torch may reuse once this returns)."""
        self.advance(node_id)
        other = self.other.grads.pop(node_id, None)
        ours = self.engine_out.pop(node_id, None)
        self.grads[node_id] = ((float("inf"), 1.0) if ours is None
                               else self.judged(ours, reference, other))
        if node_id in self.waiting:
            self.torch_out[node_id] = np.array(reference, copy=True)
            self.other_out[node_id] = other

    def finish(self) -> None:
        """The engine's backward to its end; ∂L/∂out torch never reached is zero there."""
        self.advance()
        for node_id, ours in list(self.engine_out.items()):
            if self.theirs.requires_grad(node_id):
                self.out_grad(node_id, np.zeros_like(ours))
        self.engine_out.clear()

    def __call__(self, node_id: str, name: str, reference: np.ndarray | RowBlocks) -> None:
        """torch's ∂L/∂θ of one parameter, whole or as RowBlocks."""
        self.advance(node_id)
        ours = self.engine_grads.get(node_id, {}).pop(name, None)
        self.network.nodes[node_id].op.grads.pop(name, None)
        if ours is None:
            pair = (float("inf"), 1.0)
        elif isinstance(reference, RowBlocks):
            pair = self._in_blocks(np.asarray(ours), reference)
        else:
            pair = (error(ours, reference), largest_entry(reference))
        if not agrees(*pair, self.tol) and np.isfinite(pair[0]):
            # Agreement within tol · max |r| failed: allow for the rounding of what was
            # summed (bounded) and for the rounding it carries (measured).
            noise = (self.eps * self._largest_summed(node_id, name, reference)
                     + self.noise_factor * self._measured(node_id, name, reference))
            pair = (pair[0], pair[1] + ROUNDING_MULTIPLE * noise / self.tol)
        self.pairs[node_id][name] = pair
        self._judged(node_id, name)

    @staticmethod
    def _in_blocks(ours: np.ndarray, reference: RowBlocks) -> Pair:
        """(max |ours − r|, max |r|) over every block torch makes, NaN and inf as `error`."""
        if ours.shape != reference.shape:
            return float("inf"), 0.0
        worst, largest = 0.0, 0.0
        for rows, block in reference:
            largest = max(largest, largest_entry(block))
            found = error(ours[rows], block)
            if np.isnan(found):
                return found, largest
            worst = max(worst, found)
        return worst, largest

    def _largest_summed(self, node_id: str, name: str,
                        reference: np.ndarray | RowBlocks) -> float:
        if isinstance(reference, RowBlocks):
            return reference.largest_summed()
        grad_out = self.torch_out.get(node_id)
        if grad_out is None:  # no path to L: nothing was summed
            return 0.0
        summed = magnitude(self.network, node_id, self.theirs.values, grad_out,
                           self.buffers)[name]
        return float(np.max(summed, initial=0.0))

    def _measured(self, node_id: str, name: str, reference: np.ndarray | RowBlocks) -> float:
        """max |r − r_other|, r_other made again by torch in the other precision."""
        node = self.network.nodes[node_id]
        grad_out = self.other_out.get(node_id)
        inputs = [self.other.values.get(s) for s in node.inputs]
        if grad_out is None or any(x is None for x in inputs):
            return 0.0  # no path to L, or no other precision to measure against
        dtype = self.other.dtype
        if isinstance(reference, RowBlocks):
            return reference.largest_other(inputs, grad_out, dtype)
        theirs = other_precision(node, name, node.op.params, self.buffers.get(node_id, {}),
                                 inputs, grad_out, dtype)
        if theirs is None:
            return 0.0
        with np.errstate(all="ignore"):
            found = error(theirs, np.asarray(reference))
        return found if np.isfinite(found) else 0.0

    def _judged(self, node_id: str, name: str) -> None:
        """Let go of what the bound reads once the node's last parameter is judged."""
        waiting = self.waiting.get(node_id)
        if waiting is None:
            return
        waiting.discard(name)
        if waiting:
            return
        del self.waiting[node_id]
        self.torch_out.pop(node_id, None)
        self.other_out.pop(node_id, None)
        for source in set(self.network.nodes[node_id].inputs):
            self.readers[source] -= 1
            if self.readers[source] == 0:
                self.theirs.values.pop(source, None)
                self.other.values.pop(source, None)

