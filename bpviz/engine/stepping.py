"""Step through one forward and one backward pass, node by node, and back again.

A StepSession runs the executor once, eagerly, and keeps every Step: the
forward steps in topological order, then the backward steps in reverse. The
last forward step and the first backward step are the loss node's (when the
graph has one): the turning point. `position` is the index of the step last
shown (-1: nothing shown yet); every other piece of state (the current step,
which nodes are done, the gradient norm on each wire) is derived from it, so
stepping back restores the previous state exactly.

Wires. A backward step of node c computes, for each of its input ports, the
gradient that flows back along the wire source → c: ∂L/∂(source's output)
through that wire (the executor hands it to the source as one of its
`contributions`). `wire_gradient_norms` reports its Frobenius norm over the
whole batch as soon as c's backward step is done, keyed (source, c, port).

The update phase (optional). `StepSession(..., update=optimizer)` adds,
after the backward steps, one "update" Step per node the optimizer changes
(bpviz.engine.updating: its parameters before and after, the optimizer's
state, in forward order) and `loss_after`, L on the same batch after the
update. Without it (the default) a session has exactly its forward and
backward steps.

Showing a pass changes nothing the network keeps: batchnorm's running
statistics are put back as they were, and the update is made on a copy of
the network and of the optimizer's state, so neither the parameters nor the
optimizer change. A session is a snapshot: after the network's parameters
change (training, editing), start a new one.

Receptive fields. `effective_receptive_field` seeds the backward pass with a
one-hot ∂unit/∂(node output) instead of the loss (Executor.backward(seeds=…))
and returns |∂unit/∂input| for one sample; `receptive_box` is the theoretical
field (bpviz.engine.receptive) of one unit in input pixels. Neither changes
the stored steps nor the ops' parameter gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from bpviz.engine.executor import Executor, Network, Step
from bpviz.engine.optim import Optimizer
from bpviz.engine.receptive import ReceptiveField, field_box, receptive_fields
from bpviz.engine.updating import update_steps

WireKey = tuple[str, str, int]  # (source, consumer, port)


class StepSession:
    """One forward and backward pass of `network`, shown one Step at a time.

    update: an optimizer of `network` (bpviz.engine.optim) whose next step the
    session shows after the backward steps, from the optimizer's state as it
    is (a fresh one: a first step); None for no update phase.
    """

    def __init__(self, network: Network, feeds: dict[str, np.ndarray],
                 targets: dict[str, np.ndarray] | None = None,
                 update: Optimizer | None = None,
                 progress: Callable[[int, int], None] | None = None) -> None:
        self.network = network
        self.feeds = dict(feeds)
        self.targets = dict(targets or {})
        self.executor = Executor(network)
        saved = _save_buffers(network)
        try:
            total = 2 * len(network.order)
            forward = _collect(self.executor.forward(self.feeds, self.targets), progress,
                               0, total)
            backward = _collect(self.executor.backward(), progress, len(forward), total)
        finally:
            _restore_buffers(network, saved)
        self.loss = float(self.executor.loss)
        updates: list[Step] = []
        self.loss_after: float | None = None
        if update is not None:
            updates, self.loss_after = update_steps(network, update, self.feeds, self.targets,
                                                    self.executor.values, self.loss)
        self.steps: list[Step] = forward + backward + updates
        self.forward_count = len(forward)
        self.update_count = len(updates)
        self.position = -1
        self._wires = [_wires_of(step, network) for step in self.steps]
        self._fields: dict[str, ReceptiveField | None] | None = None

    # -- where we are ---------------------------------------------------
    @property
    def turning_point(self) -> int:
        """Index of the first backward step (the loss node's, when there is one)."""
        return self.forward_count

    @property
    def update_start(self) -> int:
        """Index of the first update step (len(steps) when there is none)."""
        return len(self.steps) - self.update_count

    @property
    def current(self) -> Step | None:
        return self.steps[self.position] if self.position >= 0 else None

    @property
    def phase(self) -> str:
        """"forward", "backward" or "update": the current step's ("forward" before any)."""
        if self.position >= self.update_start:
            return "update"
        return "backward" if self.position >= self.forward_count else "forward"

    @property
    def active_node(self) -> str | None:
        step = self.current
        return step.node if step is not None else None

    @property
    def at_start(self) -> bool:
        return self.position < 0

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.steps) - 1

    # -- moving ---------------------------------------------------------
    def step_forward(self) -> bool:
        """Show the next step; False (and no change) at the end."""
        if self.at_end:
            return False
        self.position += 1
        return True

    def step_back(self) -> bool:
        """Undo the last step; False (and no change) at the start."""
        if self.at_start:
            return False
        self.position -= 1
        return True

    def reset(self) -> None:
        self.position = -1

    def seek(self, position: int) -> None:
        """Jump to any position from -1 to len(steps) − 1."""
        if not -1 <= position < len(self.steps):
            raise IndexError(f"position {position} is outside -1..{len(self.steps) - 1}")
        self.position = position

    def run_to_end_of_phase(self) -> None:
        """To the last step of the current phase; at its end already, to the next one's."""
        ends = [self.forward_count - 1, self.update_start - 1, len(self.steps) - 1]
        self.position = next((end for end in ends if end > self.position), self.position)

    # -- derived state --------------------------------------------------
    def done_nodes(self, phase: str | None = None) -> frozenset[str]:
        """Nodes whose step in `phase` (default: the current phase) has been shown."""
        phase = phase or self.phase
        if phase == "forward":
            shown = self.steps[:min(self.position + 1, self.forward_count)]
        elif phase == "backward":
            shown = self.steps[self.forward_count:min(self.position + 1, self.update_start)]
        else:
            shown = self.steps[self.update_start:self.position + 1]
        return frozenset(step.node for step in shown)

    def wire_gradient_norms(self) -> dict[WireKey, float]:
        """‖∂L/∂(source's output) through the wire‖ for every wire a shown
        backward step has sent a gradient along, keyed (source, consumer, port)."""
        norms: dict[WireKey, float] = {}
        for wires in self._wires[self.forward_count:self.position + 1]:
            norms.update(wires)
        return norms

    def state(self) -> tuple:
        """Everything a view shows, in a comparable form (for tests and undo checks)."""
        step = self.current
        return (self.position, None if step is None else (step.phase, step.node),
                self.done_nodes("forward"), self.done_nodes("backward"),
                tuple(sorted(self.wire_gradient_norms().items())))

    def output(self, node_id: str) -> np.ndarray:
        """The node's output in this pass (its forward step's), batch first."""
        return self.executor.values[node_id]

    # -- receptive fields -----------------------------------------------
    def spatial_nodes(self) -> list[str]:
        """Nodes with a theoretical field and [N, C, H, W] output, input nodes excluded."""
        return [node.id for node in self.network.order
                if node.op.op_name != "input" and self.fields().get(node.id) is not None
                and self.output(node.id).ndim == 4]

    def fields(self) -> dict[str, ReceptiveField | None]:
        if self._fields is None:
            self._fields = receptive_fields(self.network.order)
        return self._fields

    def receptive_box(self, node_id: str, i: int, j: int) -> tuple[int, int, int, int] | None:
        """(top, left, height, width) of unit (i, j)'s theoretical field in input
        pixels, clipped to the image; None when the node has no spatial field."""
        field = self.fields().get(node_id)
        if field is None or not self.network.inputs:
            return None
        return field_box(field, i, j, self.feeds[self.network.inputs[0]].shape[-2:])

    def effective_receptive_field(self, node_id: str, sample: int, channel: int, i: int,
                                  j: int, input_id: str | None = None) -> np.ndarray:
        """|∂ node[sample, channel, i, j] / ∂ input[sample]|, shaped like one input sample."""
        input_id = input_id or self.network.inputs[0]
        value = self.executor.values[node_id]
        seed = np.zeros_like(value)
        seed[sample, channel, i, j] = 1
        saved = {node.id: node.op.grads for node in self.network.order}
        saved_grads = self.executor.grads
        try:
            for _ in self.executor.backward(seeds={node_id: seed}):
                pass
            gradient = self.executor.grads[input_id][sample]
        finally:
            for node in self.network.order:
                node.op.grads = saved[node.id]
            self.executor.grads = saved_grads
        return np.abs(gradient)

    def alive_unit(self, node_id: str, sample: int = 0, budget: int = 64) -> tuple[int, int, int]:
        """(channel, i, j) of a unit of `node_id` whose effective field is alive.

        The unit nearest the centre of the map (its field the least clipped)
        whose |∂unit/∂input| is not all zero, and there the channel with the
        largest Σ|∂unit/∂input|: a dead ReLU's unit sees nothing. At most
        `budget` backward passes are tried; then the centre unit of channel 0.
        """
        _, channels, height, width = self.output(node_id).shape
        centre = ((height - 1) // 2, (width - 1) // 2)
        places = sorted(np.ndindex(height, width),
                        key=lambda p: (max(abs(p[0] - centre[0]), abs(p[1] - centre[1])),
                                       abs(p[0] - centre[0]) + abs(p[1] - centre[1]), p))
        tried = 0
        for i, j in places:
            totals = []
            for channel in range(channels):
                if tried == budget:
                    return 0, *centre
                tried += 1
                field = self.effective_receptive_field(node_id, sample, channel, i, j)
                totals.append(float(field.sum()))
            if max(totals) > 0:
                return int(np.argmax(totals)), i, j
        return 0, *centre


def _collect(steps: Iterator[Step], progress: Callable[[int, int], None] | None,
             done: int, total: int) -> list[Step]:
    """The steps, reporting each to `progress` as it is computed."""
    collected = []
    for step in steps:
        collected.append(step)
        if progress is not None:
            progress(done + len(collected), total)
    return collected


def _save_buffers(network: Network) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    return {node.id: {key: (value, value.copy()) for key, value in node.op.buffers.items()}
            for node in network.order}


def _restore_buffers(network: Network, saved) -> None:
    """Give every op back its buffer arrays with their values from before the pass."""
    for node in network.order:
        for key, (array, values) in saved[node.id].items():
            np.copyto(array, values)
            node.op.buffers[key] = array


def _wires_of(step: Step, network: Network) -> dict[WireKey, float]:
    """The gradient norms a backward step sends back along its input wires."""
    if step.phase != "backward":
        return {}
    sources = network.nodes[step.node].inputs
    return {(source, step.node, port): float(np.linalg.norm(grad))
            for port, (source, grad) in enumerate(zip(sources, step.grad_inputs))
            if grad is not None}
