"""The training panel: settings and buttons on top, four live plots below.

Train copies the editor's document and trains the copy in a separate process
(`TrainingRun`, `job.py`); a QTimer on the UI thread collects what the job
reported every UPDATE_MS and redraws once, so the window stays responsive
however fast the trainer runs. Stop asks the job to cancel (it stops before
its next iteration) and ends the process if it has not within CANCEL_WAIT_S
(the answers to the job's news are bpviz.ui.training.reports).

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

from collections import deque

from PySide6.QtCore import QSize, QTimer, Signal
from PySide6.QtWidgets import QApplication, QFrame, QScrollArea, QVBoxLayout, QWidget

from bpviz.graph import GraphDocument
from bpviz.ui.training.boundary_plot import BoundaryPlot
from bpviz.ui.training.controls import TrainingControls
from bpviz.ui.training.curves import AccuracyPlot, GradNormPlot, LossPlot
from bpviz.ui.training.fit import NAMED, same_kind, suggest_dataset
from bpviz.ui.training.lrbox import compact
from bpviz.ui.training.plot_board import ARRANGEMENTS, PlotBoard
from bpviz.ui.training.reports import RunReports
from bpviz.ui.training.worker import RunInfo, TrainingRun
from bpviz.ui.workspace_link import follow_editor, observe
from bpviz.workspace import Workspace
from bpviz.workspace.metrics import RunMetrics
from bpviz.workspace.trained import TrainedWeights

UPDATE_MS = 33  # at most ~30 redraws a second
STOP_WAIT_S = 2.0  # how long quitting waits for the job
PANEL_HEIGHT = 330
PLOT_HEIGHT = 240  # px: the height a plot asks for when training starts
NARROW_SPARE = 1.25  # a panel too narrow for a row asks for this much more than a grid


class TrainingPanel(RunReports, QWidget):
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
        self.board = PlotBoard([("Loss", self.loss_plot), ("Accuracy", self.accuracy_plot),
                                ("Gradient norm", self.grad_plot),
                                ("Decision boundary", self.boundary_plot)],
                               weights=[300, 260, 360, 260])
        inside = QWidget()
        layout = QVBoxLayout(inside)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.controls)
        layout.addWidget(self.board, 1)
        # NOTE: what the controls and one plot need is more than a small screen has
        # beside the other panels; asked of the window, it grew past the screen. The
        # panel scrolls instead when it has less (give_room gives it what it wants).
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(inside)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)

    def wanted_size(self, width: int) -> QSize:
        """The room the panel asks for when training starts, `width` pixels wide at
        most: the four plots in a row when that width allows, else a 2×2 grid."""
        row, grid = (self.board.needs(arrangement) for arrangement in ARRANGEMENTS[:2])
        if row.width() <= width:
            board, wide = row, min(width, max(row.width(), self.board.sizeHint().width()))
        else:  # a grid, or two pages of two plots: the panels beside keep the rest
            board, wide = grid, min(width, round(grid.width() * NARROW_SPARE))
        controls = self.controls.layout().totalHeightForWidth(wide)
        rows = 1 if board is row else 2
        plots = max(board.height(), rows * PLOT_HEIGHT)
        return QSize(wide, controls + self.layout().spacing() + plots)

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

