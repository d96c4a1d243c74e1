"""What a training job reports, shown: the plots, the progress bar, the status line.

`RunReports` is mixed into TrainingPanel (bpviz.ui.training.dock): its timer
calls `poll` every UPDATE_MS, which drains the run's news into the workspace
(which tells `_show`) and answers the run's start, pause (a NaN or infinity:
the message in red, the node selected), stop (the weights kept when finite)
and failure. A Stop that has not ended the job within CANCEL_WAIT_S ends its
process. The rate is iterations per second over the last RATE_SECONDS.
"""

from __future__ import annotations

import time

from bpviz.ui.training.worker import RunInfo, Update
from bpviz.workspace.trained import TrainedWeights, structure

RATE_SECONDS = 1.0  # iterations per second over this window
CANCEL_WAIT_S = 3.0  # how long Stop waits before it ends the job's process


class RunReports:
    """The panel's answers to its run's news; uses the panel's plots, controls,
    `training` (the workspace's) and `run`."""

    def poll(self) -> None:
        """Show what the worker reported since the last poll (the timer calls this)."""
        run = self.run
        if run is None:
            return
        if run.cancelled_at is not None and time.perf_counter() - run.cancelled_at > \
                CANCEL_WAIT_S:
            run.kill()
        update = run.drain()
        if update.info is not None:
            self._started(update.info)
        self.training.add(update)  # the workspace tells _show
        if update.error is not None:
            self._failed(update.error)
        elif update.stopped is not None:
            self.grad_plot.redraw()
            self._stopped(update.stopped)
        elif update.paused is not None:
            self._paused_for(update.paused)

    def _started(self, info: RunInfo) -> None:
        self.info = info
        if tuple(self.grad_plot.curves) != info.nodes:
            self.grad_plot.set_nodes(info.nodes)
        if info.points is not None:
            self.boundary_plot.set_points(*info.points)
        else:
            self.boundary_plot.show_note("2-D data only: no decision boundary for "
                                         f"{info.dataset}")
        if self.state == "preparing":
            self._set_state("training")

    def _show(self, update: Update) -> None:
        """Draw what the run reported (the workspace has its metrics already)."""
        if update.iterations:
            self.loss_plot.add_batches(update.iterations, update.losses)
            self.grad_plot.add(update.iterations, update.grad_norms)
        if update.epochs:
            self.loss_plot.add_epochs(update.epochs)
            self.accuracy_plot.add_epochs(update.epochs)
        if self.info is not None and (update.iterations or update.epochs):
            per_epoch = self.info.total_iterations // max(self.info.epochs, 1)
            self.accuracy_plot.show_span(max(self.iteration, per_epoch))
        if update.boundary is not None:
            self.boundary_plot.set_boundary(update.boundary)
        # NOTE: paused, only the iterations still on their way when the run paused
        # (a NaN's message, shown after this, stays).
        if self.info is not None and (self.state != "paused" or update.iterations):
            rate = self._rate() if self.state != "paused" else None
            self.controls.set_progress(self.iteration, self._total(), rate)
            self.controls.set_status(self._summary())

    def _rate(self) -> float | None:
        now = time.perf_counter()
        self._rates.append((now, self.iteration))
        while len(self._rates) > 2 and now - self._rates[0][0] > RATE_SECONDS:
            self._rates.popleft()
        then, first = self._rates[0]
        return (self.iteration - first) / (now - then) if now - then > 0.2 else None

    def _total(self) -> int:
        return self.info.total_iterations if self.info else 0

    def _summary(self) -> str:
        info = self.info
        parts = [f"{info.dataset}: {info.train_size} train / {info.val_size} validation",
                 f"epoch {max(self.epoch, 1)}/{info.epochs}"]
        if info.start:
            parts.insert(1, f"from the {info.start}")
        last = self.loss_plot.data["batch"].y
        if last.size:
            parts.append(f"loss {last.values[-1]:.4g}")
        val = self.accuracy_plot.data["val"].y
        if val.size:
            parts.append(f"val acc {val.values[-1]:.1f}%")
        parts += self._changes
        if self.training.graph_changed:
            parts.append("the graph has changed: this run trains it as it was at Train")
        return " · ".join(parts)

    def _paused_for(self, event) -> None:
        """The job paused itself: a NaN or infinity at iteration event.iteration."""
        self.grad_plot.redraw()
        self._set_state("paused")
        self._rates.clear()
        self.controls.set_progress(self.iteration, self._total(), None)
        advice = "lower the learning rate and press Resume" if event.lr_too_high else \
            "press Stop and check the data"
        text = f"paused: {event.message} — {advice}"
        self.controls.set_status(text, error=True)
        self.message.emit(f"Training {text}")
        self._select(event.node)

    def _stopped(self, event) -> None:
        self._finish()
        self.controls.set_progress(self.iteration, self._total(), None)
        if event.reason == "non-finite":
            self.controls.set_status(f"stopped: {event.message}", error=True)
            self.message.emit(f"Training stopped: {event.message}")
            self._select(event.node)
            return
        self._keep_weights(event)
        text = event.message if event.reason == "finished" else \
            f"stopped after {max(event.iteration, self.iteration)} iterations"
        if self.info is not None and self.info.start:
            text += f" from the {self.info.start}"
        val = self.accuracy_plot.data["val"].y
        if val.size:
            text += f" · validation accuracy {val.values[-1]:.1f}%"
        if self.training.graph_changed:
            text += " · the graph has changed since Train"
            if structure(self.workspace.doc) != structure(self.run.doc):
                text += ": the weights fit the graph as it was"
        self.controls.set_status(text)
        self.message.emit(f"Training: {text}")

    def _failed(self, message: str) -> None:
        self._finish()
        self.controls.set_progress(0, 0, None)
        self._show_problem(message)

    def _finish(self) -> None:
        self.timer.stop()
        self._set_state("idle")

    def _keep_weights(self, event) -> None:
        run = self.run
        if run.network is None or event.iteration == 0:
            return
        self.training.keep(TrainedWeights(run.network, run.doc, run.config,
                                          run.info.normalizer, event.iteration,
                                          run.optimizer_state))

    def _select(self, node: str | None) -> None:
        if node and self.editor is not None and node in self.editor.doc.nodes:
            self.editor.set_selection([node])
