"""What a Trainer (bpviz.engine.trainer) reports while it runs.

* IterationEvent after every optimizer step: the batch's loss and, per
  trainable node, the gradient norm ‖∂L/∂θ‖, the weight norm ‖θ‖ after the
  step and the update ratio ‖Δθ‖/‖θ‖ (θ before the step); all parameters of
  a node (weight and bias) count as one vector.
* EpochEvent after every epoch: the training loss and accuracy (averaged over
  the epoch's batches as they were trained, weighted by batch size) and the
  validation loss and accuracy (None without validation data).
* StoppedEvent once at the end: reason "finished", "cancelled" or
  "non-finite".
* PausedEvent when a NaN or infinity paused training (a Trainer with
  on_non_finite="pause"); the run goes on when it is resumed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, ClassVar

METRIC_FIELDS = ("epoch", "iteration", "train_loss", "train_acc", "val_loss", "val_acc",
                 "seconds")


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


@dataclass(frozen=True)
class PausedEvent(_Event):
    """Training paused itself: the iteration went non-finite and was undone."""

    kind: ClassVar[str] = "paused"
    reason: str  # "non-finite"
    message: str  # "iteration 57: the output of node 'fc' is not finite (lr 10 may be …)"
    iteration: int  # the iteration that went non-finite (optimizer steps done: one less)
    epoch: int
    node: str | None = None  # the node where it went non-finite first
    lr_too_high: bool = True  # False: the data or the initial weights are to blame


Event = IterationEvent | EpochEvent | StoppedEvent | PausedEvent
