"""A training run as the workspace knows it: its settings, its state, its metrics, its result.

The run itself works in a process of its own (bpviz.ui.training.worker); the
window reports into this model what it hears from it, and everything else
reads the model: `config` (the settings chosen for the next run: dataset,
optimizer, …; a TrainConfig), `state` ("idle", "preparing", "training",
"paused"), `metrics` (the rows File › Export writes), `iteration` and
`epoch`, `trained` (the last run's TrainedWeights, kept until a graph they
do not fit is opened while idle) and `graph_changed` (the graph was edited
since Train: the run trains the copy taken then).

Events: "training_config" (config), "training_started" (doc, config,
initial), "training_state" (state), "training_progress" (update),
"weights_trained" (trained), "training_cleared" (a new graph while idle:
the last run's plots and metrics go).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bpviz.graph import GraphDocument
from bpviz.workspace.metrics import RunMetrics
from bpviz.workspace.trained import TrainedWeights, setup

if TYPE_CHECKING:
    from bpviz.workspace.workspace import Workspace

STATES = ("idle", "preparing", "training", "paused")
TRAINED_LABEL = "trained weights"


CHILD_RUNTIME = 150 * 2**20  # a fresh process with NumPy and the engine, before its data
EVAL_BATCH = 256  # the most validation samples a run evaluates at once


class Training:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.config = None  # the settings for the next run (a TrainConfig)
        self.state = "idle"
        self.metrics = RunMetrics()
        self.trained: TrainedWeights | None = None
        self.run_doc: GraphDocument | None = None  # the copy the running run trains
        self.run_config = None  # the config of the run going on or last run
        self.iteration = 0
        self.epoch = 0  # the epoch running, as the run last said
        self.graph_changed = False

    @property
    def running(self) -> bool:
        return self.state != "idle"

    # -- settings and checks -------------------------------------------------------------
    def set_config(self, config) -> None:
        if config != self.config:
            self.config = config
            self.workspace.emit("training_config", config=config)

    def problem(self) -> str | None:
        """Why the workspace's graph cannot be trained now, or None."""
        doc, report = self.workspace.doc, self.workspace.report
        if doc is None or not doc.nodes:
            return "there is no graph to train"
        errors = [report.errors[i] for i in doc.nodes if i in report.errors]
        if errors:
            return f"fix the graph first: {errors[0]}"
        return None

    def memory_problem(self, config) -> str | None:
        """Why training with `config` (batch_size, optimizer, dtype) would not fit in
        memory (bpviz.graph.memory), or None. The run is a process of its own: it
        holds about CHILD_RUNTIME beside what this one holds already."""
        from bpviz.graph.memory import (
            Footprint,
            MemoryLimitError,
            evaluation_batch,
            fit,
            memory_limit,
        )

        footprint = Footprint(self.workspace.doc, self.workspace.report)
        optimizer = f"{config.optimizer}+pause"

        def extra(_batch: int) -> dict[str, int]:
            return {"training process": CHILD_RUNTIME}

        try:
            limit = memory_limit()
            # the run evaluates as many samples at once as fit (bpviz.ui.training.job)
            evaluation = evaluation_batch(footprint, config.batch_size, config.dtype, limit,
                                          optimizer, extra, most=EVAL_BATCH)
            fit(footprint, "train", config.batch_size, config.dtype, limit,
                optimizer=optimizer, extra=extra, evaluation=evaluation)
        except MemoryLimitError as error:
            return error.short()
        except ValueError as error:  # BPVIZ_MAX_MEMORY is not a size
            return str(error)
        return None

    def trainable(self) -> list[str]:
        """The nodes the trainer will report, as far as the shape report tells."""
        doc, report = self.workspace.doc, self.workspace.report
        return [i for i in report.order
                if report.param_counts.get(i, 0) > 0 and doc.nodes[i].trainable]

    def start_weights(self) -> tuple[dict, str] | None:
        """What a run starts from now: (tensors, label), or None for the seed's."""
        return self.workspace.weights.start_for(self.workspace.doc)

    def trained_start(self, doc: GraphDocument) -> tuple[dict, str] | None:
        """The last run's weights while they fit `doc`: (tensors, label), else None."""
        if self.trained is None or not self.trained.fits(doc):
            return None
        return self.trained.tensors(), TRAINED_LABEL

    # -- what the run reports ------------------------------------------------------------
    def begin(self, run_doc: GraphDocument, config, initial) -> None:
        """A run of `config` on `run_doc` (the copy taken at Train) has started."""
        self.metrics.clear()
        self.run_doc, self.run_config = run_doc, config
        self.iteration, self.epoch, self.graph_changed = 0, 0, False
        self.workspace.emit("training_started", doc=run_doc, config=config, initial=initial)
        self.set_state("preparing")

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"a training state is one of {', '.join(STATES)}, got {state!r}")
        self.state = state
        self.workspace.emit("training_state", state=state)

    def add(self, update) -> None:
        """What the run reported since the last time (an Update of bpviz.ui.training.job)."""
        self.metrics.add(update)
        if update.iterations:
            self.iteration = update.iterations[-1]
        # NOTE: an Update with no news says epoch 0: keep the last one heard of.
        self.epoch = update.epoch or self.epoch
        self.workspace.emit("training_progress", update=update)

    def keep(self, trained: TrainedWeights) -> None:
        """The run ended with finite weights: step-through and the next run use them."""
        self.trained = trained
        self.workspace.weights.set_trained(trained)
        self.workspace.emit("weights_trained", trained=trained)

    # -- the graph -----------------------------------------------------------------------
    def graph_edited(self) -> None:
        if self.running and self.run_doc is not None:
            self.graph_changed = setup(self.workspace.doc) != setup(self.run_doc)

    def document_replaced(self) -> None:
        """Another graph: a run goes on with its copy (graph_changed says so); when
        idle, the last run's metrics go, and its weights too unless they fit."""
        if self.running:
            self.graph_edited()
            return
        self.metrics.clear()
        if self.trained is not None and not self.trained.fits(self.workspace.doc):
            self.trained = None
        self.workspace.emit("training_cleared")
