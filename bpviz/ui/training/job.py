"""The training job, run in a process of its own (no Qt here).

`run_job` is the process's target: it prepares the data (`bpviz.data.fit`),
builds the network from the copy of the graph it was given, runs the engine's
Trainer and sends what happened to the app as Update records over a pipe, in
batches at most every SEND_SECONDS (and at once for the first and the last
word, and for a pause). A thread listens on a second pipe for "pause",
"resume" and "cancel" (a closed pipe cancels too: the app has gone) and for
("set", {"lr": 0.1, ...}): optimizer settings for the iterations to come.

A NaN or infinity pauses the run (the Trainer's on_non_finite="pause"): the
trainer puts back the last finite state and the Update carries its
PausedEvent; the app may change the learning rate and resume (the failed batch
is retried) or cancel (the last finite weights are sent as after any stop).

The network starts from the seed's weights, or from `initial` ((tensors,
label)) when they fit it; RunInfo.start names the weights it started from
when they are not the seed's (or why they could not be used).

For 2-D data the job also evaluates the network on a grid around the data
(evaluation mode, a separate executor) at most every BOUNDARY_SECONDS and
once at the end; the last Update carries the trained weights.

NOTE: a process, not a thread: the trainer is mostly Python on small arrays
and holds the GIL, and a thread made the window stall for 80–130 ms at a
time (pyqtgraph paints in Python too) while training ran at a quarter speed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

import numpy as np

from bpviz.data import DataError, Dataset
from bpviz.engine.trainer import EpochEvent, PausedEvent, StoppedEvent, TrainingError
from bpviz.graph import GraphDocument, GraphError
from bpviz.ui.training.boundary import BoundaryImage, Grid

SEND_SECONDS = 0.03
NICE = 5  # the job's scheduling priority, below the app's
BOUNDARY_SECONDS = 0.2
MAX_POINTS = 2000  # data points sent for the scatter plot


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "moons"  # a name of bpviz.data.DATASETS or a .csv/.npz path
    optimizer: str = "adam"  # "adam" or "sgd"
    lr: float = 0.01
    momentum: float = 0.9  # sgd only
    batch_size: int = 32
    epochs: int = 0  # 0: bpviz.data.fit.default_epochs
    seed: int = 0
    val_fraction: float = 0.2
    dtype: str = "float32"


@dataclass(frozen=True)
class RunInfo:
    """What the run trains, known once the data are ready."""

    dataset: str
    train_size: int
    val_size: int
    epochs: int
    total_iterations: int
    nodes: tuple[str, ...]  # trainable nodes, in topological order
    points: tuple[np.ndarray, np.ndarray] | None  # raw 2-D x and labels, for the scatter
    classes: int
    normalizer: object  # bpviz.data.Normalizer the inputs are standardised with
    start: str = ""  # the weights it started from, when not the seed's


@dataclass
class Update:
    """What happened since the last Update."""

    info: RunInfo | None = None
    iterations: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    grad_norms: dict[str, list[float]] = field(default_factory=dict)
    epochs: list[EpochEvent] = field(default_factory=list)
    boundary: BoundaryImage | None = None  # the newest only
    stopped: StoppedEvent | None = None
    paused: PausedEvent | None = None  # the trainer paused itself for a NaN or infinity
    error: str | None = None  # preparation failed: nothing was trained
    epoch: int = 0  # the epoch running
    weights: dict[str, np.ndarray] | None = None  # '<node>/<name>' → array, at the end
    optimizer_state: dict | None = None  # the optimizer's state then (Optimizer.snapshot())

    def empty(self) -> bool:
        return not (self.info or self.iterations or self.epochs or self.boundary
                    or self.stopped or self.paused or self.error)

    def merge(self, later: Update) -> None:
        """Add `later`'s news to this one."""
        self.iterations += later.iterations
        self.losses += later.losses
        for node, norms in later.grad_norms.items():
            self.grad_norms.setdefault(node, []).extend(norms)
        self.epochs += later.epochs
        for name in ("info", "boundary", "stopped", "paused", "error", "weights",
                     "optimizer_state"):
            if getattr(later, name) is not None:
                setattr(self, name, getattr(later, name))
        self.epoch = later.epoch or self.epoch


def run_job(doc: GraphDocument, config: TrainConfig, data, control, initial=None) -> None:
    """The process's target: train, reporting on `data`, obeying `control`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the app
    if hasattr(os, "nice"):
        os.nice(NICE)  # when cores are short, the window goes first
    job = Job(doc, config, data, initial)
    threading.Thread(target=job.listen, args=(control,), daemon=True).start()
    job.run()
    data.close()


class Job:
    def __init__(self, doc: GraphDocument, config: TrainConfig, pipe, initial=None) -> None:
        self.doc, self.config, self.pipe = doc, config, pipe
        self.initial = initial
        self.start = ""
        self.trainer = None
        self.network = None
        self._lock = threading.Lock()
        self._cancelled = self._paused = False
        self._options: dict = {}  # optimizer settings that came before the trainer
        self._pending = Update()
        self._last_send = 0.0
        self._grid: Grid | None = None
        self._last_boundary = 0.0

    # -- control (the listening thread) ---------------------------------------------
    def listen(self, control) -> None:
        while True:
            try:
                command = control.recv()
            except (EOFError, OSError):
                command = "cancel"
            if isinstance(command, tuple) and len(command) == 2 and command[0] == "set":
                self._set_options(dict(command[1]))
                continue
            with self._lock:
                trainer = self.trainer
                self._cancelled |= command == "cancel"
                if command in ("pause", "resume"):
                    self._paused = command == "pause"
            if trainer is not None:
                {"pause": trainer.pause, "resume": trainer.resume,
                 "cancel": trainer.cancel}.get(command, lambda: None)()
            if command == "cancel":
                return

    def _set_options(self, options: dict) -> None:
        with self._lock:
            trainer = self.trainer
            if trainer is None:
                self._options.update(options)
        if trainer is not None:
            try:
                trainer.set_optimizer_options(**options)
            except TrainingError as error:  # the app checks first: only ever a bug
                print(f"bpviz training job: {error}", file=sys.stderr)

    # -- the run ---------------------------------------------------------------------------
    def run(self) -> None:
        try:
            trainer = self._prepare()
            self._send(force=True)
            if self._cancelled:
                self._stop(StoppedEvent("cancelled", "training was cancelled", 0, 0))
            else:
                trainer.run()
        except (DataError, GraphError, TrainingError) as error:
            self._pending.error = str(error)
        except Exception as error:  # noqa: BLE001 - shown in the panel, not lost
            traceback.print_exc()
            self._pending.error = f"unexpected error: {type(error).__name__}: {error}"
        self._send(force=True)

    def _prepare(self):
        from bpviz.data.fit import default_epochs, prepare
        from bpviz.engine.optim import make_optimizer
        from bpviz.engine.trainer import Trainer
        from bpviz.graph import build_network

        config = self.config
        network = build_network(self.doc, seed=config.seed, dtype=np.dtype(config.dtype))
        self._start_from(network)
        prepared = prepare(config.dataset, network, seed=config.seed,
                           val_fraction=config.val_fraction)
        options = {"momentum": config.momentum} if config.optimizer == "sgd" else {}
        optimizer = make_optimizer(config.optimizer, network, lr=config.lr, **options)
        train, val = prepared.train, prepared.val
        epochs = config.epochs or default_epochs(len(train), config.batch_size)
        trainer = Trainer(network, optimizer, (train.x, train.y), (val.x, val.y),
                          batch_size=config.batch_size, epochs=epochs, seed=config.seed,
                          eval_batch_size=self._evaluation_batch(len(val), network),
                          on_non_finite="pause")
        if prepared.dataset.sample_shape == (2,):
            self._grid = Grid.around(prepared.dataset.x, network, prepared.normalizer)
        self._pending.info = self._info(prepared, trainer)
        trainer.subscribe(self._on_event)
        self.network = network
        with self._lock:
            self.trainer = trainer
            if self._paused:
                trainer.pause()
            options, self._options = self._options, {}
        if options:
            trainer.set_optimizer_options(**options)
        return trainer

    def _evaluation_batch(self, samples: int, network=None) -> int:
        """As many validation samples at once as fit beside training (at most
        EVAL_BATCH): the window checked that training with one fits. network: the
        one built already (this process holds it: not counted twice)."""
        from bpviz.graph.memory import (
            Footprint,
            evaluation_batch,
            memory_limit,
            network_bytes,
        )
        from bpviz.workspace.training import EVAL_BATCH

        config = self.config
        try:
            limit = memory_limit()
        except ValueError:  # BPVIZ_MAX_MEMORY is not a size: the window said so
            return EVAL_BATCH
        built = 0 if network is None else network_bytes(network)
        return evaluation_batch(Footprint(self.doc), config.batch_size, config.dtype, limit,
                                f"{config.optimizer}+pause", most=min(EVAL_BATCH, max(1, samples)),
                                built=built)

    def _start_from(self, network) -> None:
        if self.initial is None:
            return
        from bpviz.graph.weights import WeightsError, assign_tensors

        tensors, label = self.initial
        try:
            assign_tensors(network, tensors, f"the {label}")
        except WeightsError as error:
            self.start = f"initial weights (seed {self.config.seed}): {error}"
        else:
            self.start = label

    def _info(self, prepared, trainer) -> RunInfo:
        dataset: Dataset = prepared.dataset
        per_epoch = -(-len(trainer.train[0]) // trainer.batch_size)
        points = None
        if self._grid is not None:
            keep = np.random.default_rng(0).permutation(len(dataset))[:MAX_POINTS]
            points = (dataset.x[keep], dataset.y[keep])
        return RunInfo(dataset.name, len(trainer.train[0]),
                       0 if trainer.val is None else len(trainer.val[0]),
                       trainer.epochs, per_epoch * trainer.epochs,
                       tuple(n.id for n in trainer.trainable), points, dataset.num_classes,
                       prepared.normalizer, self.start)

    def _on_event(self, event) -> None:
        pending = self._pending
        if event.kind == "iteration":
            pending.iterations.append(event.iteration)
            pending.losses.append(event.loss)
            pending.epoch = event.epoch
            for node, stats in event.nodes.items():
                pending.grad_norms.setdefault(node, []).append(stats.grad_norm)
            self._maybe_boundary(event.iteration)
        elif event.kind == "epoch":
            pending.epochs.append(event)
        elif event.kind == "paused":
            pending.paused = event
            # NOTE: at once: the trainer waits from now on, and sends nothing more.
            self._send(force=True)
            return
        else:
            self._stop(event)
        self._send()

    def _maybe_boundary(self, iteration: int) -> None:
        now = time.perf_counter()
        if self._grid is not None and now - self._last_boundary >= BOUNDARY_SECONDS:
            self._pending.boundary = self._grid.evaluate(iteration)
            self._last_boundary = now

    def _stop(self, event: StoppedEvent) -> None:
        if self._grid is not None and event.reason != "non-finite":
            self._pending.boundary = self._grid.evaluate(event.iteration)
        if self.network is not None and event.reason != "non-finite":
            from bpviz.graph.weights import network_tensors

            self._pending.weights = {key: value.copy() for key, value
                                     in network_tensors(self.network).items()}
            self._pending.optimizer_state = self.trainer.optimizer.snapshot()
        self._pending.stopped = event

    def _send(self, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self._last_send < SEND_SECONDS:
            return
        update, self._pending = self._pending, Update(epoch=self._pending.epoch)
        self._last_send = now
        if update.empty() and not force:
            return
        try:
            self.pipe.send(update)
        except (BrokenPipeError, OSError):  # the app has gone
            with self._lock:
                self._cancelled = True
                trainer = self.trainer
            if trainer is not None:
                trainer.cancel()
