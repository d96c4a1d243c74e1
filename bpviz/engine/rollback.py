"""Undoing a training iteration that went non-finite (Trainer(on_non_finite="pause")).

A Checkpoint copies what one iteration changes: the trainable parameters,
the optimizer's state (momentum buffers, Adam moments and step counts),
every op's buffers (batchnorm's running statistics, which a forward pass in
training mode moves) and the random generators ops draw from (dropout
masks). Restoring it puts the network back exactly, bit for bit, so a retry
of the same batch computes what the failed attempt computed, up to the
optimizer's settings.

Rollback keeps two of them: the one taken before the running iteration, and
for the last iteration that went through, the one taken before it together
with the gradients its update used. With those, `replay_last_update()` can
redo that update from where it started, with the optimizer's settings as
they are now: when a forward or backward pass overflows, the update before it
(made with a learning rate that was too high) is the step to take again.

NOTE: all of this costs copies of the parameters, the optimizer's state and
the gradients every iteration, so only a pausing trainer keeps a Rollback.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bpviz.engine.executor import Network

Arrays = dict[str, dict[str, np.ndarray]]  # node id → name → array


class Checkpoint:
    """A copy of the state of `network` and `optimizer` (see the module docstring).

    `trainable`: the nodes whose parameters the optimizer updates.
    """

    def __init__(self, network: Network, optimizer, trainable: list) -> None:
        self.network, self.optimizer = network, optimizer
        self.params: Arrays = {node.id: {name: value.copy()
                                         for name, value in node.op.params.items()}
                               for node in trainable}
        self.optimizer_state = optimizer.snapshot()
        self.buffers: Arrays = {node.id: {name: value.copy()
                                          for name, value in node.op.buffers.items()}
                                for node in network.order if node.op.buffers}
        self.generators: dict[str, dict[str, Any]] = {
            node.id: node.op.rng.bit_generator.state
            for node in network.order
            if isinstance(getattr(node.op, "rng", None), np.random.Generator)}

    def restore_weights(self) -> None:
        """Bring back the parameters (in place) and the optimizer's state."""
        for node_id, saved in self.params.items():
            params = self.network.nodes[node_id].op.params
            for name, value in saved.items():
                params[name][...] = value
        self.optimizer.restore(self.optimizer_state)

    def restore(self) -> None:
        """Bring back everything: weights, buffers and random generators."""
        self.restore_weights()
        for node_id, saved in self.buffers.items():
            buffers = self.network.nodes[node_id].op.buffers
            for name, value in saved.items():
                buffers[name] = value.copy()
        for node_id, state in self.generators.items():
            self.network.nodes[node_id].op.rng.bit_generator.state = state


class Rollback:
    """The checkpoints a pausing Trainer needs, taken as its iterations run."""

    def __init__(self, network: Network, optimizer, trainable: list) -> None:
        self.network, self.optimizer, self.trainable = network, optimizer, trainable
        self.current: Checkpoint | None = None  # before the running iteration
        self._gradients: Arrays = {}
        self._last: tuple[Checkpoint, Arrays] | None = None  # before the last update made

    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.network, self.optimizer, self.trainable)

    def begin(self) -> Checkpoint:
        """Take the checkpoint before an iteration (before its forward pass)."""
        self.current = self.checkpoint()
        self._gradients = {}
        return self.current

    def keep_gradients(self) -> None:
        """Copy the gradients the coming update will use (after the backward pass)."""
        # NOTE: copies, not the arrays: an op may write its next gradients into
        # the same memory (scratch buffers).
        self._gradients = {node.id: {name: np.array(grad, copy=True)
                                     for name, grad in node.op.grads.items()}
                           for node in self.trainable}

    def commit(self) -> None:
        """The iteration went through: its update becomes the last one."""
        self._last = (self.current, self._gradients)

    def undo(self) -> None:
        """Put back the state from before the running iteration."""
        self.current.restore()
        self.optimizer.zero_grad()

    @property
    def can_replay(self) -> bool:
        return self._last is not None

    def replay_last_update(self) -> None:
        """Redo the last update from the weights before it, with today's settings.

        The buffers and generators stay as they are: the forward pass that the
        update followed does not depend on the optimizer's settings.
        """
        checkpoint, gradients = self._last
        checkpoint.restore_weights()
        for node in self.trainable:
            node.op.grads = {name: grad.copy() for name, grad in gradients[node.id].items()}
        self.optimizer.step()
        self.optimizer.zero_grad()
