"""The app's side of a training run: start the job's process, steer it, collect news.

TrainingRun knows nothing of Qt. `start()` spawns a process running
`bpviz.ui.training.job.run_job` on a copy of the graph document taken at
start (edits made later never reach it). The UI thread calls `drain()` on a
timer and gets everything the job reported since the last call, merged into
one Update, without ever waiting for the job. `set_paused` and `cancel` send
a word to the job, `set_options` optimizer settings for the iterations to
come (e.g. a lower learning rate after a NaN paused the run: `paused` holds
the job's PausedEvent until the next resume); `kill` ends the process at once
(a job busy loading data does not listen).

`initial` ((tensors, label) or None) are the weights to start from instead
of the seed's. When the job ends with finite weights, `network` is a Network built from the
copy of the graph holding them (built on the caller's thread by `drain`).
"""

from __future__ import annotations

import math
import multiprocessing
import numbers
import time

import numpy as np

from bpviz.engine.trainer import PausedEvent, StoppedEvent
from bpviz.graph import GraphDocument
from bpviz.ui.training.job import RunInfo, TrainConfig, Update, run_job

__all__ = ["RunInfo", "TrainConfig", "TrainingRun", "Update"]


class TrainingRun:
    def __init__(self, doc: GraphDocument, config: TrainConfig, initial=None) -> None:
        self.doc = doc.copy()
        self.config = config
        self.initial = initial
        self.info: RunInfo | None = None
        self.network = None  # the trained Network, once the job has sent its weights
        self.optimizer_state = None  # the optimizer's state with them (Optimizer.snapshot())
        self.stopped: StoppedEvent | None = None
        self.paused: PausedEvent | None = None  # why the job paused itself, until resumed
        self.cancelled_at: float | None = None
        self._process = None
        self._data = self._control = None
        self._finished = False

    # -- control -------------------------------------------------------------------------
    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # never fork a Qt process
        self._data, child_data = context.Pipe(duplex=False)
        child_control, self._control = context.Pipe(duplex=False)
        self._process = context.Process(target=run_job, name="bpviz-training", daemon=True,
                                        args=(self.doc, self.config, child_data,
                                              child_control, self.initial))
        self._process.start()
        child_data.close()
        child_control.close()

    def _tell(self, word) -> None:
        try:
            self._control.send(word)
        except (BrokenPipeError, OSError, AttributeError):
            pass  # the job has ended (or never started)

    def set_paused(self, paused: bool) -> None:
        if not paused:
            self.paused = None
        self._tell("pause" if paused else "resume")

    def set_options(self, **options: float) -> None:
        """Optimizer settings (lr; momentum for SGD) from the next iteration on.

        ValueError unless each is a finite number ≥ 0 (the trainer checks again).
        """
        for name, value in options.items():
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
                    not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number of at least 0, got {value!r}")
        self._tell(("set", {name: float(value) for name, value in options.items()}))

    def cancel(self) -> None:
        if self.cancelled_at is None:
            self.cancelled_at = time.perf_counter()
        self._tell("cancel")

    def kill(self) -> None:
        """End the process now; drain() then reports a cancel if nothing else came."""
        if self._process is not None and self._process.is_alive():
            self._process.kill()
            self._process.join(1.0)

    @property
    def running(self) -> bool:
        """True until drain() has returned the job's last word."""
        return self._process is not None and not self._finished

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the process to end; True when it has."""
        if self._process is None:
            return True
        self._process.join(timeout)
        return not self._process.is_alive()

    # -- news --------------------------------------------------------------------------------
    def drain(self) -> Update:
        """Everything the job reported since the last call (never blocks for long)."""
        update = Update()
        while not self._finished and self._readable():
            try:
                update.merge(self._data.recv())
            except (EOFError, OSError):
                self._end(update)
        if not self._finished and not self._process.is_alive() and not self._readable():
            self._end(update)
        if update.info is not None:
            self.info = update.info
        if update.paused is not None:
            self.paused = update.paused
        if update.weights is not None:
            self.network = self._rebuild(update.weights)
            self.optimizer_state = update.optimizer_state
        if update.stopped is not None or update.error is not None:
            self._finished = True
            self.stopped = update.stopped
        return update

    def _readable(self) -> bool:
        try:
            return self._data.poll()
        except (EOFError, OSError):
            return False

    def _end(self, update: Update) -> None:
        """The job has gone without its last word (killed, or it crashed)."""
        self._finished = True
        if update.stopped is None and update.error is None:
            if self.cancelled_at is not None:
                update.stopped = StoppedEvent("cancelled", "training was cancelled", 0, 0)
            else:
                code = self._process.exitcode
                update.error = f"the training process ended unexpectedly (exit code {code})"

    def _rebuild(self, weights: dict[str, np.ndarray]):
        from bpviz.graph import build_network
        from bpviz.graph.weights import network_tensors

        network = build_network(self.doc, seed=self.config.seed,
                                dtype=np.dtype(self.config.dtype))
        for key, value in network_tensors(network).items():
            value[...] = weights[key]
        return network
