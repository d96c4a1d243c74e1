"""A training run's metrics as rows, for File › Export (bpviz.export.curves).

RunMetrics collects what a training run reports: one row per iteration (its
batch `loss` and `grad_norm/<node>`) and one per epoch (train_loss,
train_acc, val_loss, val_acc), as a CurveRecorder would from the trainer's
events. Iteration rows are thinned past MAX_ITERATION_ROWS (every other one
is dropped and only every `stride`-th kept from then on), so long runs stay
small; epoch rows are all kept.
"""

from __future__ import annotations

MAX_ITERATION_ROWS = 5000


class RunMetrics:
    def __init__(self) -> None:
        self.rows: list[dict[str, float | None]] = []
        self.stride = 1
        self._iteration_rows = 0

    def clear(self) -> None:
        self.rows, self.stride, self._iteration_rows = [], 1, 0

    def add(self, update) -> None:
        """Add a training Update's iterations and epochs (bpviz.ui.training.job)."""
        for k, (iteration, loss) in enumerate(zip(update.iterations, update.losses)):
            if iteration % self.stride:
                continue
            row = {"iteration": iteration, "loss": loss}
            row.update({f"grad_norm/{node}": norms[k]
                        for node, norms in update.grad_norms.items() if k < len(norms)})
            self.rows.append(row)
            self._iteration_rows += 1
            if self._iteration_rows > MAX_ITERATION_ROWS:
                self._thin()
        for event in update.epochs:
            self.rows.append({"iteration": event.iteration, "epoch": event.epoch,
                              "train_loss": event.train_loss, "train_acc": event.train_acc,
                              "val_loss": event.val_loss, "val_acc": event.val_acc})

    def _thin(self) -> None:
        self.stride *= 2
        self.rows = [row for row in self.rows
                     if "epoch" in row or row["iteration"] % self.stride == 0]
        self._iteration_rows = sum("epoch" not in row for row in self.rows)
