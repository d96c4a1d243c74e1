"""Each parameter gradient judged the moment torch completes it (bpviz.oracle.compare).

torch's backward hands over ∂L/∂θ node by node (bpviz.oracle.torch_run); the
engine's backward is run just as far as that node, the two gradients are
compared and both are dropped, so that no more than a node's gradients live
at once. A parameter torch splits (fc6's weight) comes as RowBlocks: each
block of rows is compared with the same rows of the engine's gradient as
torch makes it, and the error and the scale are the largest over the blocks,
exactly as over the whole tensor.

As the engine's backward passes a node, the op lets go of what its forward
kept for backward (`Op.release`: a convolution's padded input and im2col
columns, a batchnorm's x̂); its output and ∂L/∂out stay for the comparison.
"""

from __future__ import annotations

import numpy as np

from bpviz.engine.executor import Executor, Network
from bpviz.oracle.agreement import ROUNDING_MULTIPLE, Pair, agrees, error, largest_entry
from bpviz.oracle.torch_run import RowBlocks, TorchPass, magnitude

Snapshot = dict[str, dict[str, np.ndarray]]


class ParamJudge:
    """Judges each parameter gradient as torch hands it over, running the engine's
    backward just far enough to have its side, then lets go of both sides' arrays.
    `pairs[node][name]` is (error, scale) of each parameter judged."""

    def __init__(self, network: Network, engine: Executor, theirs: TorchPass,
                 buffers: Snapshot, tol: float, dtype: np.dtype) -> None:
        self.network, self.theirs, self.buffers = network, theirs, buffers
        self.tol, self.eps = tol, float(np.finfo(dtype).eps)
        self.steps = engine.backward()
        self.engine_grads: dict[str, dict[str, np.ndarray]] = {}
        self.pairs: dict[str, dict[str, Pair]] = {node.id: {} for node in network.order}

    def advance(self, node_id: str | None = None) -> None:
        """The engine's backward up to `node_id` (None: to the end)."""
        while node_id not in self.engine_grads:
            step = next(self.steps, None)
            if step is None:
                return
            op = self.network.nodes[step.node].op
            self.engine_grads[step.node] = dict(op.grads)
            del step
            op.release()

    def __call__(self, node_id: str, name: str, reference: np.ndarray | RowBlocks) -> None:
        self.advance(node_id)
        ours = self.engine_grads.get(node_id, {}).pop(name, None)
        self.network.nodes[node_id].op.grads.pop(name, None)
        if ours is None:
            self.pairs[node_id][name] = (float("inf"), 1.0)
            return
        if isinstance(reference, RowBlocks):
            pair = self._in_blocks(np.asarray(ours), reference)
        else:
            pair = (error(ours, reference), largest_entry(reference))
        if not agrees(*pair, self.tol) and np.isfinite(pair[0]):
            # Agreement within tol · max |r| failed: allow for the rounding of what was summed.
            noise = self.eps * self._largest_summed(node_id, name, reference)
            pair = (pair[0], pair[1] + ROUNDING_MULTIPLE * noise / self.tol)
        self.pairs[node_id][name] = pair

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
        summed = magnitude(self.network, node_id, self.theirs.values,
                           self.theirs.grads[node_id], self.buffers)[name]
        return float(np.max(summed, initial=0.0))
