"""Mini-batch training with the executor, and what it reports while it runs.

A Trainer owns the loop: shuffle, forward, backward, optimizer step, and a
validation pass in evaluation mode after every epoch. It knows nothing of Qt,
threads or files; a caller (the app, `bpviz train`) subscribes a callback and
receives events:

* IterationEvent after every optimizer step: the batch's loss and, per
  trainable node, the gradient norm ‖∂L/∂θ‖, the weight norm ‖θ‖ after the
  step and the update ratio ‖Δθ‖/‖θ‖ (θ before the step); all parameters of
  a node (weight and bias) count as one vector.
* EpochEvent after every epoch: the training loss and accuracy (averaged over
  the epoch's batches as they were trained, weighted by batch size) and the
  validation loss and accuracy (None without validation data).
* StoppedEvent once at the end: reason "finished", "cancelled" or
  "non-finite". A NaN or infinity stops training at once; the message names
  the iteration and the node where it appeared first, in the order the passes
  compute: outputs in topological order, then gradients in the backward
  pass's order (from the loss back), then the parameters after the update.

`cancel()`, `pause()` and `resume()` may be called from any thread; the loop
checks them before every iteration, so a cancel stops within one iteration.

Accuracy (labels y of an integer dtype only): the arg max of the prediction
when it has several outputs; with one output, the prediction ≥ 0 for
bce_with_logits (a logit) and ≥ 0.5 otherwise (a probability).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

from bpviz.engine.executor import Executor, Network

Targets = Callable[[np.ndarray], dict[str, np.ndarray]]

METRIC_FIELDS = ("epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc",
                 "seconds")


class TrainingError(ValueError):
    """The network or the data cannot be trained as asked."""


@dataclass(frozen=True)
class NodeStats:
    grad_norm: float
    weight_norm: float
    update_ratio: float


@dataclass(frozen=True)
class _Event:
    kind: ClassVar[str] = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **asdict(self)}


@dataclass(frozen=True)
class IterationEvent(_Event):
    kind: ClassVar[str] = "iteration"
    iteration: int  # optimizer steps so far, from 1
    epoch: int  # from 1
    loss: float
    nodes: dict[str, NodeStats]


@dataclass(frozen=True)
class EpochEvent(_Event):
    kind: ClassVar[str] = "epoch"
    epoch: int
    iteration: int
    train_loss: float
    train_acc: float | None
    val_loss: float | None
    val_acc: float | None
    seconds: float  # since run() started


@dataclass(frozen=True)
class StoppedEvent(_Event):
    kind: ClassVar[str] = "stopped"
    reason: str  # "finished", "cancelled" or "non-finite"
    message: str
    iteration: int  # optimizer steps done
    epoch: int  # the epoch that was running (the last one when finished)
    node: str | None = None  # the node that went non-finite


Event = IterationEvent | EpochEvent | StoppedEvent


def label_targets(network: Network, loss_id: str, dtype=np.float64) -> Targets:
    """Targets from class labels y [N] for the loss node `loss_id`.

    softmax_cross_entropy: the labels; other losses with 1 output: the labels
    as numbers [N, 1]; with K outputs: one-hot rows [N, K].
    """
    op_name = network.nodes[loss_id].op.op_name
    outputs = int(np.prod(node_shapes(network)[network.nodes[loss_id].inputs[0]]))

    def targets(y: np.ndarray) -> dict[str, np.ndarray]:
        y = np.asarray(y, dtype=np.int64)
        if op_name == "softmax_cross_entropy":
            return {loss_id: y}
        if outputs == 1:
            return {loss_id: y.astype(dtype)[:, None]}
        return {loss_id: np.eye(outputs, dtype=dtype)[y]}

    return targets


def node_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """Per-sample output shape of every node."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in network.order:
        shapes[node.id] = tuple(node.op.infer_shape([shapes[s] for s in node.inputs]))
    return shapes


def predicted_labels(pred: np.ndarray, loss_op: str) -> np.ndarray | None:
    """Class predictions [N] from a prediction [N, K]; None when it is not [N, K]."""
    if pred.ndim != 2:
        return None
    if pred.shape[1] > 1:
        return np.argmax(pred, axis=1)
    threshold = 0.0 if loss_op == "bce_with_logits" else 0.5
    return (pred[:, 0] >= threshold).astype(np.int64)


def all_finite(a: np.ndarray) -> bool:
    a = np.asarray(a)
    if a.size < 1 << 16:
        return bool(np.isfinite(a).all())
    # NOTE: for large arrays, a float64 sum allocates nothing: any NaN or
    # infinity makes it non-finite, and finite values can only overflow it
    # near 1e308, when the elements are checked one by one after all.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a, dtype=np.float64)):
            return True
    return bool(np.isfinite(a).all())


def _square_norm(arrays) -> float:
    total = 0.0
    for a in arrays:
        flat = np.asarray(a, dtype=np.float64).ravel()
        total += float(np.dot(flat, flat))
    return total


class _Tally:
    """Loss (weighted by batch size) and correct predictions over batches."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.count = 0
        self.correct = 0
        self.judged = 0

    def add(self, loss: float, n: int, labels: np.ndarray | None, y: np.ndarray) -> None:
        self.loss += loss * n
        self.count += n
        if labels is not None:
            self.correct += int(np.count_nonzero(labels == y))
            self.judged += n

    def mean_loss(self) -> float | None:
        return self.loss / self.count if self.count else None

    def accuracy(self) -> float | None:
        return self.correct / self.judged if self.judged else None


class Trainer:
    """Mini-batch training of `network` with `optimizer` on (x, y) arrays.

    train, val: (x [N, ...], y [N]); val may be None or empty. y holds class
    labels (integers) unless `targets` turns it into the loss node's targets
    some other way (then accuracy is only computed for integer y). The data
    are cast to the network's dtype. Batches: each epoch visits every training
    sample once in the order `epoch_order(epoch)`, the last batch holding the
    remainder. The network must have one input node and one loss node.
    """

    def __init__(self, network: Network, optimizer, train: tuple[np.ndarray, np.ndarray],
                 val: tuple[np.ndarray, np.ndarray] | None = None, *, batch_size: int = 32,
                 epochs: int = 10, seed: int = 0, targets: Targets | None = None,
                 eval_batch_size: int = 256) -> None:
        if len(network.inputs) != 1 or len(network.losses) != 1:
            raise TrainingError(f"training needs one input node and one loss node, the graph "
                                f"has {len(network.inputs)} and {len(network.losses)}")
        for name, value in (("batch size", batch_size), ("eval batch size", eval_batch_size)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise TrainingError(f"the {name} must be a positive integer, got {value!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise TrainingError(f"the number of epochs must be 0 or more, got {epochs!r}")
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
        self.executor = Executor(network)
        self.trainable = [n for n in network.order if n.op.trainable and n.op.params]
        self.iteration = 0
        self.epoch = 0  # epochs completed
        self._running = 0
        self.metrics: list[dict[str, Any]] = []
        self.stopped: StoppedEvent | None = None
        self._listeners: list[Callable[[Event], None]] = []
        self._cancel = threading.Event()
        self._go = threading.Event()
        self._go.set()

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

    def _emit(self, event: Event) -> None:
        for callback in list(self._listeners):
            callback(event)

    # -- the loop ---------------------------------------------------------
    def epoch_order(self, epoch: int) -> np.ndarray:
        """The order in which epoch `epoch` (from 1) visits the training samples."""
        rng = np.random.default_rng([self.seed & 0xFFFFFFFF, int(epoch)])
        return rng.permutation(len(self.train[0]))

    def run(self) -> StoppedEvent:
        """Train until epoch `self.epochs`, a cancel or a non-finite value.

        Returns the StoppedEvent, which listeners receive too. Calling run again
        continues from the epoch reached (raise `epochs` first to train more).
        """
        self._cancel.clear()
        start = time.perf_counter()
        self.network.set_training(True)
        while self.epoch < self.epochs:
            epoch = self._running = self.epoch + 1
            tally = _Tally()
            order = self.epoch_order(epoch)
            for begin in range(0, len(order), self.batch_size):
                index = order[begin:begin + self.batch_size]
                stop = self._control() or self._train_batch(epoch, index, tally)
                if stop is not None:
                    return self._finish(stop)
            val = self.evaluate(*self.val) if self.val is not None else (None, None)
            if self._cancel.is_set():
                return self._finish(self._stopped("cancelled", "training was cancelled"))
            self.epoch = epoch
            self._end_epoch(tally, val, time.perf_counter() - start)
        return self._finish(self._stopped("finished", f"trained {self.epoch} epochs "
                                          f"({self.iteration} iterations)"))

    def _control(self) -> StoppedEvent | None:
        self._go.wait()
        if self._cancel.is_set():
            return self._stopped("cancelled", "training was cancelled")
        return None

    def _stopped(self, reason: str, message: str, node: str | None = None) -> StoppedEvent:
        return StoppedEvent(reason, message, self.iteration, self._running, node)

    def _finish(self, event: StoppedEvent) -> StoppedEvent:
        self.stopped = event
        self._emit(event)
        return event

    def _end_epoch(self, tally: _Tally, val: tuple[float | None, float | None],
                   seconds: float) -> None:
        event = EpochEvent(self.epoch, self.iteration, tally.mean_loss(), tally.accuracy(),
                           val[0], val[1], seconds)
        row = event.as_dict()
        self.metrics.append({key: row[key] for key in METRIC_FIELDS})
        self._emit(event)

    def _train_batch(self, epoch: int, index: np.ndarray, tally: _Tally) -> StoppedEvent | None:
        x, y = self.train[0][index], self.train[1][index]
        self.iteration += 1
        with np.errstate(all="ignore"):
            problem = self._passes(x, y)
            if problem is None:
                before = [[p.copy() for p in n.op.params.values()] for n in self.trainable]
                grads = [_square_norm(n.op.grads.values()) for n in self.trainable]
                self.optimizer.step()
                problem = self._check_params()
        if problem is not None:
            return self._non_finite(*problem)
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

    def _check_params(self) -> tuple[str, str] | None:
        for node in self.trainable:
            for name, value in node.op.params.items():
                if not all_finite(value):
                    return node.id, f"the {name} of node '{node.id}' after the update"
        return None

    def _non_finite(self, node: str, what: str) -> StoppedEvent:
        lr = getattr(self.optimizer, "lr", None)
        if what.endswith("after the update") or self.iteration > 1:
            hint = f"lr {lr:g} may be too high" if lr is not None else "the steps may be too big"
        else:
            hint = "check the data and the initial weights"
        message = f"iteration {self.iteration}: {what} is not finite ({hint})"
        return self._stopped("non-finite", message, node)

    def _stats(self, before, grads) -> dict[str, NodeStats]:
        stats = {}
        for node, old, grad in zip(self.trainable, before, grads):
            new = list(node.op.params.values())
            old_norm = _square_norm(old) ** 0.5
            delta = _square_norm(n - o for n, o in zip(new, old)) ** 0.5
            ratio = delta / old_norm if old_norm else (0.0 if delta == 0 else float("inf"))
            stats[node.id] = NodeStats(grad**0.5, _square_norm(new) ** 0.5, ratio)
        return stats

    def _labels(self, pred: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        if not np.issubdtype(y.dtype, np.integer):
            return None
        return predicted_labels(pred, self.network.nodes[self.loss_id].op.op_name)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None]:
        """(mean loss, accuracy) over (x, y) in evaluation mode, without gradients.

        The network goes back to training mode afterwards.
        """
        tally = _Tally()
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
