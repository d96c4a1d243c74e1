"""The training panel: settings and buttons on top, four live plots below.

Train copies the editor's document and trains the copy in a separate process
(`TrainingRun`, `job.py`); a QTimer on the UI thread collects what the job
reported every UPDATE_MS and redraws once, so the window stays responsive
however fast the trainer runs. Stop asks the job to cancel (it stops before
its next iteration) and ends the process if it has not within CANCEL_WAIT_S.

The run's settings, state, metrics and result are the workspace's
(bpviz.workspace.training): the panel reports what the job says into it and
draws what the workspace then tells (its events), and reads `state`,
`trained`, `metrics`, `iteration` and `epoch` from it. Editing the graph
while it trains is allowed: the run goes on with the copy taken at Train,
and the panel says that the graph has changed. A run that ends with finite
weights (finished or stopped) keeps them in the workspace (a TrainedWeights)
and sends `weights_trained(network)`. A run starts from the weights the
workspace uses (trained while they fit, loaded or imported) or from the seed,
so a head trained with frozen layers can be fine-tuned once unfrozen. Without
a workspace of its own the panel makes one that follows its editor.

A NaN or infinity pauses the run (the trainer puts back the last finite
state); the panel shows the trainer's message in red, which names the
iteration and the first node where it appeared, sends it to the status bar
and selects that node in the editor. While paused the learning rate (and
SGD's momentum) can be changed: Resume sends the changes to the run before it
goes on, and the failed batch is retried. Stop keeps the last finite weights.
"""

from __future__ import annotations

import time
from collections import deque

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QSplitter, QVBoxLayout, QWidget

from bpviz.graph import GraphDocument
from bpviz.ui.training.boundary_plot import BoundaryPlot
from bpviz.ui.training.controls import TrainingControls
from bpviz.ui.training.curves import AccuracyPlot, GradNormPlot, LossPlot
from bpviz.ui.training.fit import NAMED, same_kind, suggest_dataset
from bpviz.ui.training.lrbox import compact
from bpviz.ui.training.plot_fit import scroll_row
from bpviz.ui.training.worker import RunInfo, TrainingRun, Update
from bpviz.ui.workspace_link import follow_editor, observe
from bpviz.workspace import Workspace
from bpviz.workspace.metrics import RunMetrics
from bpviz.workspace.trained import TrainedWeights, structure

UPDATE_MS = 33  # at most ~30 redraws a second
RATE_SECONDS = 1.0  # iterations per second over this window
STOP_WAIT_S = 2.0  # how long quitting waits for the job
CANCEL_WAIT_S = 3.0  # how long Stop waits before it ends the job's process
PANEL_HEIGHT = 330


class TrainingPanel(QWidget):
    message = Signal(str)  # for the status bar
    weights_trained = Signal(object)  # the trained Network
    state_changed = Signal(str)  # "idle", "preparing", "training", "paused"

    def __init__(self, editor=None, parent: QWidget | None = None,
                 workspace: Workspace | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        if workspace is None:
            workspace = Workspace(editor.doc, editor.report) if editor is not None else \
                Workspace()
            if editor is not None:
                follow_editor(workspace, editor)
        self.workspace = workspace
        self.training = workspace.training
        self.controls = TrainingControls()
        self.loss_plot, self.accuracy_plot = LossPlot(), AccuracyPlot()
        self.grad_plot, self.boundary_plot = GradNormPlot(), BoundaryPlot()
        self.run: TrainingRun | None = None
        self.info: RunInfo | None = None
        self._rates: deque[tuple[float, int]] = deque()
        self._options: dict[str, float] = {}  # the optimizer settings the run has now
        self._changes: list[str] = []  # "lr 50 → 0.5 at iteration 57", for the status
        self._run_box: list[TrainingRun | None] = [None]
        self.timer = QTimer(self)
        self.timer.setInterval(UPDATE_MS)
        self.timer.timeout.connect(self.poll)
        self._build()
        self._connect()

    def sizeHint(self) -> QSize:
        return QSize(1200, PANEL_HEIGHT)

    def _build(self) -> None:
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.setChildrenCollapsible(False)
        for plot in (self.loss_plot, self.accuracy_plot, self.grad_plot, self.boundary_plot):
            plots.addWidget(plot)
        plots.setSizes([300, 260, 360, 260])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.controls)
        self.plot_area = scroll_row(plots)
        layout.addWidget(self.plot_area, 1)
        self.plots = plots

    def _connect(self) -> None:
        self.controls.train_clicked.connect(self.start)
        self.controls.pause_toggled.connect(self.set_paused)
        self.controls.stop_clicked.connect(self.stop)
        self.controls.changed.connect(self._config_changed)
        box = self._run_box
        self.destroyed.connect(lambda *_: box[0] is not None and box[0].kill())
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shut_down)
        observe(self.workspace, self, self._workspace_event)
        self._config_changed()
        self.controls.set_state(self.training.state)

    def _config_changed(self) -> None:
        self.training.set_config(self.controls.config())

    def _workspace_event(self, event: str, payload: dict) -> None:
        if event == "training_state":
            self.controls.set_state(payload["state"])
            self.state_changed.emit(payload["state"])
        elif event == "training_progress":
            self._show(payload["update"])
        elif event == "weights_trained":
            self.weights_trained.emit(payload["trained"].network)
        elif event == "document_replaced":
            self._document_replaced()

    # -- what the workspace holds ----------------------------------------------------------
    @property
    def state(self) -> str:
        return self.training.state

    @property
    def running(self) -> bool:
        return self.training.running

    @property
    def trained(self) -> TrainedWeights | None:
        return self.training.trained

    @property
    def metrics(self) -> RunMetrics:
        return self.training.metrics

    @property
    def iteration(self) -> int:
        return self.training.iteration

    @property
    def epoch(self) -> int:
        return self.training.epoch

    def trained_start(self, doc: GraphDocument) -> tuple[dict, str] | None:
        """The last run's weights while they fit `doc`: (tensors, label), else None."""
        return self.training.trained_start(doc)

    # -- commands ------------------------------------------------------------------------
    def start(self) -> bool:
        """Train a copy of the workspace's graph; False (with the reason shown) if it cannot."""
        if self.running:
            return False
        problem = self.training.problem() or self.training.memory_problem(self.controls.config())
        if problem:
            self._show_problem(problem)
            return False
        doc = self.workspace.doc
        self._reset_plots()
        # NOTE: the gradient curves are made now, at the click, not when the first news
        # arrives: a deep net's dozens of curves would be a stall in the middle of training.
        self.grad_plot.set_nodes(self.training.trainable())
        initial = self.training.start_weights()
        self.run = self._run_box[0] = TrainingRun(doc, self.controls.config(), initial)
        self._options, self._changes = self.controls.optimizer_options(), []
        self.info = None
        self._rates.clear()
        self.run.start()
        self.training.begin(self.run.doc, self.run.config, initial)
        start = f" from the {initial[1]}" if initial is not None else ""
        self.controls.set_status(f"preparing {self.run.config.dataset}…{start}")
        self.controls.set_progress(0, 0, None)
        self.timer.start()
        return True

    def set_paused(self, paused: bool) -> None:
        if self.run is None or not self.running:
            return
        if not paused:
            self._send_changes()
        self.run.set_paused(paused)
        self._set_state("paused" if paused else ("training" if self.info else "preparing"))
        self._rates.clear()
        if paused:
            self.controls.set_progress(self.iteration, self._total(), None)

    def _send_changes(self) -> None:
        """Send the settings changed while paused to the run (before it resumes)."""
        wanted = self.controls.optimizer_options()
        changed = {name: value for name, value in wanted.items()
                   if self._options.get(name) != value}
        if not changed:
            return
        self.run.set_options(**changed)
        text = ", ".join(f"{name} {compact(self._options[name])} → {compact(value)}"
                         for name, value in changed.items())
        self._options.update(changed)
        self._changes.append(f"{text} at iteration {self.iteration + 1}")
        self.controls.set_status(f"resuming with {text}")
        self.message.emit(f"Training resumed with {text}")

    def toggle_pause(self) -> None:
        self.set_paused(self.state != "paused")

    def stop(self) -> None:
        """Cancel the run: the trainer stops before its next iteration."""
        if self.run is not None and self.running:
            self.run.cancel()
            self.controls.set_status("stopping…")

    def shut_down(self) -> None:
        """Cancel and wait briefly for the worker (the app is quitting)."""
        if self.run is not None:
            self.run.cancel()
            if not self.run.join(STOP_WAIT_S):
                self.run.kill()
        self.timer.stop()

    # -- problems ---------------------------------------------------------------------------
    def _show_problem(self, text: str) -> None:
        self.controls.set_status(text, error=True)
        self.message.emit(f"cannot train: {text}")

    # -- updates from the worker ------------------------------------------------------------
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

    def _set_state(self, state: str) -> None:
        self.training.set_state(state)  # the workspace tells the controls

    def _reset_plots(self) -> None:
        self.loss_plot.clear_data()
        self.accuracy_plot.clear_data()
        self.grad_plot.clear_data()
        self.boundary_plot.show_note("")

    # -- the graph ---------------------------------------------------------------------------
    def _document_replaced(self) -> None:
        """Another graph: a run goes on with its copy (the status says the graph
        changed); when idle, the last run's plots and status go (the workspace
        drops its metrics, and its weights unless they fit the new graph)."""
        if self.running:
            return
        self._reset_plots()
        self.grad_plot.set_nodes([])
        self.controls.set_status("")
        self.controls.clear_progress()
        suggestion = suggest_dataset(self.workspace.doc)
        if suggestion:
            current = self.controls.config().dataset
            if current in NAMED and not same_kind(suggestion, current):
                self.controls.set_dataset(suggestion)
                self._config_changed()

