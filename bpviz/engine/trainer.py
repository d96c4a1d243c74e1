"""Mini-batch training with the executor, and what it reports while it runs.

A Trainer owns the loop: shuffle, forward, backward, optimizer step, and a
validation pass in evaluation mode after every epoch. It knows nothing of Qt,
threads or files; a caller (the app, `bpviz train`) subscribes a callback and
receives the events of bpviz.engine.events.

A NaN or infinity is looked for in the order the passes compute: outputs in
topological order, then gradients in the backward pass's order (from the loss
back), then the parameters and the optimizer's state after the update; the
message names the iteration and the node where it appeared first. With
on_non_finite="stop" (the default) it ends the run at once. With "pause" the
trainer puts back the state from before the failed iteration (parameters,
optimizer state, batchnorm statistics, dropout generators: bpviz.engine.rollback),
pauses itself and emits a PausedEvent; on resume it retries the same batch
with the optimizer's settings as they are then (`set_optimizer_options`,
e.g. a lower learning rate). When a forward or backward pass failed, the
weights it ran on came from the update before it, so that update is made again
first, from the weights before it, with the new settings.

`cancel()`, `pause()`, `resume()` and `set_optimizer_options()` may be called
from any thread; the loop checks them before every iteration, so a cancel
stops within one iteration (while paused, with the last finite weights).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bpviz.engine.events import (
    METRIC_FIELDS,
    EpochEvent,
    Event,
    IterationEvent,
    NodeStats,
    PausedEvent,
    StoppedEvent,
)
from bpviz.engine.executor import Executor, Network
from bpviz.engine.finite import all_finite, square_norm
from bpviz.engine.labels import Tally, Targets, label_targets, node_shapes, predicted_labels
from bpviz.engine.rollback import Rollback

__all__ = ["METRIC_FIELDS", "EpochEvent", "Event", "IterationEvent", "NodeStats", "PausedEvent",
           "StoppedEvent", "Trainer", "TrainingError", "all_finite", "label_targets",
           "node_shapes", "predicted_labels"]


class TrainingError(ValueError):
    """The network or the data cannot be trained as asked."""


NON_FINITE = ("stop", "pause")


def _check_settings(network: Network, batch_size, eval_batch_size, epochs,
                    on_non_finite) -> None:
    if len(network.inputs) != 1 or len(network.losses) != 1:
        raise TrainingError(f"training needs one input node and one loss node, the graph "
                            f"has {len(network.inputs)} and {len(network.losses)}")
    for name, value in (("batch size", batch_size), ("eval batch size", eval_batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise TrainingError(f"the {name} must be a positive integer, got {value!r}")
    if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
        raise TrainingError(f"the number of epochs must be 0 or more, got {epochs!r}")
    if on_non_finite not in NON_FINITE:
        raise TrainingError(f"on_non_finite must be one of {', '.join(NON_FINITE)}, "
                            f"got {on_non_finite!r}")


class Trainer:
    """Mini-batch training of `network` with `optimizer` on (x, y) arrays.

    train, val: (x [N, ...], y [N]); val may be None or empty. y holds class
    labels (integers) unless `targets` turns it into the loss node's targets
    some other way (then accuracy is only computed for integer y). The data
    are cast to the network's dtype. Batches: each epoch visits every training
    sample once in the order `epoch_order(epoch)`, the last batch holding the
    remainder. The network must have one input node and one loss node.
    on_non_finite: "stop" or "pause" (see the module docstring).
    """

    def __init__(self, network: Network, optimizer, train: tuple[np.ndarray, np.ndarray],
                 val: tuple[np.ndarray, np.ndarray] | None = None, *, batch_size: int = 32,
                 epochs: int = 10, seed: int = 0, targets: Targets | None = None,
                 eval_batch_size: int = 256, on_non_finite: str = "stop") -> None:
        _check_settings(network, batch_size, eval_batch_size, epochs, on_non_finite)
        self.network, self.optimizer = network, optimizer
        self.input_id, self.loss_id = network.inputs[0], network.losses[0]
        self.pred_id = network.nodes[self.loss_id].inputs[0]
        self.dtype = self._dtype()
        self.train = self._data(train, "training")
        if len(self.train[0]) == 0:
            raise TrainingError("there are no training samples")
        self.val = None if val is None or len(val[0]) == 0 else self._data(val, "validation")
        self.batch_size, self.eval_batch_size = int(batch_size), int(eval_batch_size)
        self.epochs, self.seed = int(epochs), int(seed)
        self.targets = targets or label_targets(network, self.loss_id, self.dtype)
        # Only the prediction and the loss outlive a pass: the rest is let go during backward.
        self.executor = Executor(network, keep={self.pred_id, self.loss_id})
        self.trainable = [n for n in network.order if n.op.trainable and n.op.params]
        self.iteration = 0
        self.epoch = 0  # epochs completed
        self._running = 0
        self.metrics: list[dict[str, Any]] = []
        self.stopped: StoppedEvent | None = None
        self.non_finite: PausedEvent | None = None  # why it is paused, until it resumes
        self.rollback = Rollback(network, optimizer, self.trainable) \
            if on_non_finite == "pause" else None
        self._replay_due = False  # the last update is to be made again on resume
        self._listeners: list[Callable[[Event], None]] = []
        self._cancel = threading.Event()
        self._go = threading.Event()
        self._go.set()
        self._options_lock = threading.Lock()
        self._options: dict[str, float] = {}  # settings to apply before the next iteration

    def _dtype(self) -> np.dtype:
        for value in self.network.parameters().values():
            return value.dtype
        return np.dtype(np.float64)

    def _data(self, data, what: str) -> tuple[np.ndarray, np.ndarray]:
        x, y = data
        x, y = np.asarray(x), np.asarray(y)
        if len(x) != len(y):
            raise TrainingError(f"the {what} data have {len(x)} samples but {len(y)} labels")
        return x.astype(self.dtype, copy=False), y

    # -- control (any thread) ---------------------------------------------
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]:
        """Call `callback(event)` for every event; returns a function that unsubscribes."""
        self._listeners.append(callback)
        return lambda: self._listeners.remove(callback)

    def cancel(self) -> None:
        self._cancel.set()
        self._go.set()

    def pause(self) -> None:
        self._go.clear()

    def resume(self) -> None:
        self._go.set()

    @property
    def paused(self) -> bool:
        return not self._go.is_set()

    def set_optimizer_options(self, **options: float) -> None:
        """Change optimizer settings (lr; SGD's momentum; weight_decay) before the next
        iteration. TrainingError when one is unknown or not a finite number ≥ 0."""
        try:
            checked = self.optimizer.checked_options(options)
        except ValueError as error:
            raise TrainingError(str(error)) from None
        with self._options_lock:
            self._options.update(checked)

    def set_lr(self, lr: float) -> None:
        self.set_optimizer_options(lr=lr)

    def _apply_options(self) -> None:
        with self._options_lock:
            options, self._options = self._options, {}
        if options:
            self.optimizer.set_options(options)

    def _emit(self, event: Event) -> None:
        for callback in list(self._listeners):
            callback(event)

    # -- the loop ---------------------------------------------------------
    def epoch_order(self, epoch: int) -> np.ndarray:
        """The order in which epoch `epoch` (from 1) visits the training samples."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, int(epoch)])
        return rng.permutation(len(self.train[0]))

    def run(self) -> StoppedEvent:
        """Train until epoch `self.epochs`, a cancel or (when it stops for them) a non-finite
        value.

        Returns the StoppedEvent, which listeners receive too. Calling run again
        continues from the epoch reached (raise `epochs` first to train more).
        """
        self._cancel.clear()
        start = time.perf_counter()
        self.network.set_training(True)
        while self.epoch < self.epochs:
            epoch = self._running = self.epoch + 1
            tally = Tally()
            order = self.epoch_order(epoch)
            for begin in range(0, len(order), self.batch_size):
                stop = self._batch(epoch, order[begin:begin + self.batch_size], tally)
                if stop is not None:
                    return self._finish(stop)
            val = self.evaluate(*self.val) if self.val is not None else (None, None)
            if self._cancel.is_set():
                return self._finish(self._stopped("cancelled", "training was cancelled"))
            self.epoch = epoch
            self._end_epoch(tally, val, time.perf_counter() - start)
        return self._finish(self._stopped("finished", f"trained {self.epoch} epochs "
                                          f"({self.iteration} iterations)"))

    def _batch(self, epoch: int, index: np.ndarray, tally: Tally) -> StoppedEvent | None:
        """Train on one batch; a pause for a non-finite value retries it on resume."""
        while True:
            stop = self._control()
            if stop is not None:
                return stop
            problem = self._train_batch(epoch, index, tally)
            if problem is None:
                return None
            if self.rollback is None:
                return self._non_finite(*problem)
            self.rollback.undo()
            self.iteration -= 1
            self._replay_due = self.rollback.can_replay and \
                not problem[1].endswith("after the update")
            self._pause_for(self.iteration + 1, *problem)

    def _control(self) -> StoppedEvent | None:
        """Wait while paused; None when the next iteration may run."""
        while True:
            self._go.wait()
            if self._cancel.is_set():
                return self._stopped("cancelled", "training was cancelled")
            self.non_finite = None
            self._apply_options()
            problem = self._replay() if self._replay_due else None
            if problem is None:
                return None
            self._pause_for(self.iteration, *problem)

    def _replay(self) -> tuple[str, str] | None:
        """Make the last update again with the current settings (see the module docstring);
        when that goes non-finite too, the weights stay as they were."""
        fallback = self.rollback.checkpoint()
        with np.errstate(all="ignore"):
            self.rollback.replay_last_update()
            problem = self._check_update()
        if problem is None:
            self._replay_due = False
        else:
            fallback.restore()
        return problem

    def _pause_for(self, iteration: int, node: str, what: str) -> None:
        message, lr_too_high = self._describe(iteration, node, what)
        self.non_finite = PausedEvent("non-finite", message, iteration, self._running, node,
                                      lr_too_high)
        # NOTE: pause first, emit second: a listener may resume at once.
        self.pause()
        self._emit(self.non_finite)

    def _stopped(self, reason: str, message: str, node: str | None = None) -> StoppedEvent:
        return StoppedEvent(reason, message, self.iteration, self._running, node)

    def _finish(self, event: StoppedEvent) -> StoppedEvent:
        self.stopped = event
        self._emit(event)
        return event

    def _end_epoch(self, tally: Tally, val: tuple[float | None, float | None],
                   seconds: float) -> None:
        event = EpochEvent(self.epoch, self.iteration, tally.mean_loss(), tally.accuracy(),
                           val[0], val[1], seconds)
        row = event.as_dict()
        self.metrics.append({key: row[key] for key in METRIC_FIELDS})
        self._emit(event)

    def _train_batch(self, epoch: int, index: np.ndarray,
                     tally: Tally) -> tuple[str, str] | None:
        """One iteration; (node, what) when a value went non-finite, None when it went
        through (and was reported)."""
        x, y = self.train[0][index], self.train[1][index]
        checkpoint = self.rollback.begin() if self.rollback is not None else None
        self.iteration += 1
        with np.errstate(all="ignore"):
            problem = self._passes(x, y)
            if problem is None:
                before = [list(checkpoint.params[n.id].values()) if checkpoint else
                          [p.copy() for p in n.op.params.values()] for n in self.trainable]
                grads = [square_norm(n.op.grads.values()) for n in self.trainable]
                if checkpoint is not None:
                    self.rollback.keep_gradients()
                self.optimizer.step()
                problem = self._check_update()
        if problem is not None:
            return problem
        if checkpoint is not None:
            self.rollback.commit()
        loss = float(self.executor.loss)
        tally.add(loss, len(index), self._labels(self.executor.values[self.pred_id], y), y)
        stats = self._stats(before, grads)
        self.optimizer.zero_grad()
        self._emit(IterationEvent(self.iteration, epoch, loss, stats))
        return None

    def _passes(self, x: np.ndarray, y: np.ndarray) -> tuple[str, str] | None:
        """Forward and backward, stopping at the first non-finite value: (node, what)."""
        for step in self.executor.forward({self.input_id: x}, self.targets(y)):
            if not all_finite(step.output):
                return step.node, f"the output of node '{step.node}'"
        for step in self.executor.backward():
            if not all_finite(step.grad_output):
                return step.node, f"the gradient ∂L/∂out of node '{step.node}'"
            for name, grad in step.grad_params.items():
                if not all_finite(grad):
                    return step.node, f"the gradient ∂L/∂{name} of node '{step.node}'"
        return None

    def _check_update(self) -> tuple[str, str] | None:
        """(node, what) for the first parameter, then optimizer state, gone non-finite."""
        for node in self.trainable:
            for name, value in node.op.params.items():
                if not all_finite(value):
                    return node.id, f"the {name} of node '{node.id}' after the update"
        # NOTE: Adam's v can overflow (g² above 3e38 in float32) while θ stays finite:
        # the parameter would silently never move again.
        for (node, param), name, value in self.optimizer.state_arrays():
            if not all_finite(value):
                return node, (f"the optimizer's {name} for the {param} of node '{node}' "
                              "after the update")
        return None

    def _describe(self, iteration: int, node: str, what: str) -> tuple[str, bool]:
        """(message, whether a lower learning rate may help)."""
        lr = getattr(self.optimizer, "lr", None)
        if node == self.input_id:
            hint, lr_too_high = "check the data", False
        elif what.endswith("after the update") or iteration > 1:
            hint = f"lr {lr:g} may be too high" if lr is not None else "the steps may be too big"
            lr_too_high = True
        else:
            hint, lr_too_high = "check the data and the initial weights", False
        return f"iteration {iteration}: {what} is not finite ({hint})", lr_too_high

    def _non_finite(self, node: str, what: str) -> StoppedEvent:
        message, _ = self._describe(self.iteration, node, what)
        return self._stopped("non-finite", message, node)

    def _stats(self, before, grads) -> dict[str, NodeStats]:
        stats = {}
        for node, old, grad in zip(self.trainable, before, grads):
            new = list(node.op.params.values())
            old_norm = square_norm(old) ** 0.5
            delta = square_norm(n - o for n, o in zip(new, old)) ** 0.5
            ratio = delta / old_norm if old_norm else (0.0 if delta == 0 else float("inf"))
            stats[node.id] = NodeStats(grad**0.5, square_norm(new) ** 0.5, ratio)
        return stats

    def _labels(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        if not np.issubdtype(y.dtype, np.integer):
            return None
        return predicted_labels(pred, self.network.nodes[self.loss_id].op.op_name)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
        """(mean loss, accuracy) over (x, y) in evaluation mode, without gradients.

        The network goes back to training mode afterwards.
        """
        tally = Tally()
        x = np.asarray(x).astype(self.dtype, copy=False)
        self.network.set_training(False)
        try:
            with np.errstate(all="ignore"):
                for begin in range(0, len(x), self.eval_batch_size):
                    part = slice(begin, begin + self.eval_batch_size)
                    xb, yb = x[part], y[part]
                    loss = self.executor.run({self.input_id: xb}, self.targets(yb),
                                             backward=False)
                    pred = self.executor.values[self.pred_id]
                    tally.add(loss, len(xb), self._labels(pred, yb), yb)
        finally:
            self.network.set_training(True)
        return tally.mean_loss(), tally.accuracy()
