"""Step through backprop in the main window: the Run menu, the step bar, the docks.

StepController shows the workspace's pass (bpviz.workspace): it builds one
from the document when the user first steps (F10, F5, run to end, verify),
on a worker thread with a progress bar in the status bar (weights drawn,
forward or backward, node k of N) and Cancel, which stops the worker at its
next node or chunk of weights (a new build waits until a cancelled one has
let go of its memory), and reports it into the workspace; graphs with errors
or too big to hold are refused (with the memory estimate). It observes the
workspace: a pass built (by it or anyone else) shows the docks and the step
bar; a pass dropped (any edit other than moving a node, a new batch size or
seed, other weights) clears the drawing and stops a build or check under
way; a new position is drawn on the canvas, the tensors and the formula. The
step bar's batch size and seed are the workspace's step settings, and it
says which weights the pass shows (the seed's, or the trained, loaded or
imported weights the workspace holds).
The docks are StepDocks' (bpviz.ui.stepping.step_docks).
"Verify against torch" compares the same network and batch with PyTorch on
a worker thread and puts a tick or a cross on every node.

`synchronous = True` builds and verifies on the calling thread (tests).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QProgressBar, QToolButton

from bpviz.ui.stepping.entry_view import EntryLink
from bpviz.ui.stepping.presenter import StepPresenter
from bpviz.ui.stepping.pulse import Pulses
from bpviz.ui.stepping.step_bar import WindowStepBar, build_run_menu
from bpviz.ui.stepping.step_docks import StepDocks
from bpviz.ui.stepping.torch_check import verify
from bpviz.ui.stepping.update_setting import UpdateStepSetting
from bpviz.ui.thread_job import Job
from bpviz.ui.workspace_link import observe
from bpviz.workspace import Workspace
from bpviz.workspace.passes import Built, Verified, build_session, torch_check_refusal

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow


class StepController(StepDocks, QObject):
    session_ready = Signal()
    session_dropped = Signal()
    verified = Signal(object)  # passes.Verified
    busy_changed = Signal(bool)

    def __init__(self, window: MainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = workspace
        self.scene = window.view.graph_scene
        self.synchronous = False
        self.pending: str | None = None
        self.job: Job | None = None
        self.stopping: Job | None = None  # a cancelled build whose worker has not returned
        self._building_text = ""
        self.verify_job: Job | None = None
        self._bar_moving = False
        self._build_widgets()
        self.presenter = StepPresenter(window.view, self.tensors, self.formula,
                                       Pulses(self))
        self.entry = EntryLink(workspace, self.tensors, self.formula, self.scene,
                               lambda: self.synchronous, window.show_message, self)
        self._build_menu()
        self._connect()

    # -- widgets ----------------------------------------------------------
    def _build_widgets(self) -> None:
        window = self.window
        self.bar = WindowStepBar(window)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        window.addActions([self.bar.step_action, self.bar.back_action, self.bar.play_action,
                           self.bar.reset_action])  # shortcuts also with the bar hidden
        self._build_docks()
        self.busy = QProgressBar()
        self.busy.setObjectName("step_busy")
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(140)
        self.cancel = QToolButton()
        self.cancel.setText("Cancel")
        self.cancel.clicked.connect(self.cancel_build)
        for widget in (self.busy, self.cancel):
            window.statusBar().addPermanentWidget(widget)
            widget.hide()

    def _build_menu(self) -> None:
        self.follow_action = QAction("&Follow the Current Node", self.window)
        self.follow_action.setCheckable(True)
        self.follow_action.setChecked(True)
        self.follow_action.toggled.connect(lambda on: setattr(self.presenter, "follow", on))
        self.animate_action = QAction("&Animate the Flow", self.window)
        self.animate_action.setCheckable(True)
        self.animate_action.setChecked(True)
        self.animate_action.toggled.connect(self.set_animate)
        self.leave_action = QAction("&Leave Step-Through", self.window)
        self.leave_action.setStatusTip("drop the pass; back to the plain graph")
        self.leave_action.triggered.connect(lambda: self.invalidate())
        self.update_setting = UpdateStepSetting(self)
        self.menu = build_run_menu(self.window, self.bar, [self.update_setting.action,
                                                          self.follow_action,
                                                          self.animate_action,
                                                          self.leave_action])

    def set_animate(self, on: bool) -> None:
        """Dots along the wires at each step (Run › Animate the Flow)."""
        if self.animate_action.isChecked() != on:
            self.animate_action.setChecked(on)  # comes back here
            return
        self.presenter.pulses.enabled = on
        if not on:
            self.presenter.pulses.stop()

    def _connect(self) -> None:
        self.bar.session_wanted.connect(self.request)
        self.bar.settings_changed.connect(self._settings_edited)
        self.bar.position_changed.connect(self._bar_moved)
        self.tensors.sample_changed.connect(self.formula.set_sample)
        self.window.editor.selection_changed.connect(lambda _ids: self._receptive_follows())
        observe(self.workspace, self, self._workspace_event)
        self._show_settings()
        if self.workspace.built is not None:
            self._pass_built(self.workspace.built)
        else:
            self._pass_dropped(False)

    def _workspace_event(self, event: str, payload: dict) -> None:
        if event == "pass_built":
            self._pass_built(payload["built"])
        elif event == "pass_dropped":
            self._pass_dropped(payload["had"])
        elif event == "position_changed":
            self._position_changed()
        elif event == "verified":
            self._verified(payload["result"])
        elif event == "settings_changed":
            self._show_settings()
        elif event in ("weights_changed", "input_image_changed"):
            self.show_weights()

    # -- the session ------------------------------------------------------
    @property
    def built(self) -> Built | None:
        return self.workspace.built

    @property
    def session(self):
        return self.workspace.session

    @property
    def building(self) -> bool:
        return self.job is not None

    def request(self, move: str) -> None:
        """Do `move` ("step", "end", "play", "verify"; "build": nothing more), building
        the pass first if needed."""
        if self.built is not None:
            self._perform(move)
            return
        self.pending = move
        if self.job is not None:
            return
        why = self.workspace.refusal()
        if why is not None:
            self.pending = None
            self.window.show_message(why)
            self.bar.label.setText(why)  # elided to the bar's width, whole in its tooltip
            return
        if self.stopping is not None:  # a cancelled build still lets go of its memory
            self._set_busy("stopping the last pass…")
            return
        spec = self.workspace.pass_spec()
        self.job = Job(build_session, spec, parent=self, reports=True)
        self.job.finished.connect(self._job_built)
        self.job.failed.connect(self._build_failed)
        self.job.progress.connect(self._build_progress)
        self.job.ended.connect(lambda job=self.job: self._job_ended(job))
        self._building_text = f"running forward and backward on a batch of {spec.batch}"
        self._set_busy(f"{self._building_text}…")
        self.job.run_here() if self.synchronous else self.job.start()

    def _build_progress(self, done: int, total: int) -> None:
        """Node k of N: its weights, forward, then backward, in the busy bar and the
        status bar."""
        nodes = total // 3
        stage = min((done - 1) // max(nodes, 1), 2) if done else 0
        phase, k = ("weights", "forward", "backward")[stage], done - stage * nodes
        self.busy.setRange(0, total)
        self.busy.setValue(done)
        self.busy.setFormat(f"{phase} {k}/{nodes}")
        self.window.statusBar().showMessage(
            f"{self._building_text}: {phase}, node {k} of {nodes}…")

    def _job_ended(self, job: Job) -> None:
        """A build's function returned; a cancelled one has let go of its memory."""
        if job is self.stopping:
            self.stopping = None
            if self.pending is not None and self.job is None:
                self.request(self.pending)
            elif self.job is None and self.verify_job is None:
                self._set_busy(None)

    def build_now(self) -> str | None:
        """Build the pass on this thread; why not, when it cannot be built."""
        return self.workspace.build_pass()

    def _settings_edited(self) -> None:
        self.workspace.set_settings(batch=self.bar.batch.value(), seed=self.bar.seed.value())

    def _show_settings(self) -> None:
        settings = self.workspace.settings
        for spin, value in ((self.bar.batch, settings.batch), (self.bar.seed, settings.seed)):
            if spin.value() != value:
                spin.blockSignals(True)
                spin.setValue(value)
                spin.blockSignals(False)
        self.show_weights()

    def show_weights(self) -> None:
        """Say in the step bar which weights the pass shows (or will show)."""
        image = self.workspace.input_image
        self.bar.set_weights(*self.workspace.weights_label(), image=image.name if image else "")

    def seek(self, phase: str, number: int) -> None:
        """Show the `number`-th step (from 1) of `phase`; IndexError when there is none."""
        self.workspace.seek_step(phase, number)

    def _job_built(self, built: Built) -> None:
        self.job = None
        self.workspace.set_pass(built)

    def _pass_built(self, built: Built) -> None:
        if self.job is not None:  # built by someone else meanwhile
            self.job.discard()
            self.job = None
        self._set_busy(None)
        self.show_docks()
        self.bar.set_session(built.session)
        self._draw_position()
        self.receptive.set_session(built.session)
        self.show_weights()
        note = f" · {built.note}" if built.note else ""
        self.window.show_message(f"pass built in {built.seconds:.2f} s: "
                                 f"{len(built.session.steps)} steps, L = "
                                 f"{built.session.loss:.4g} · {built.weights} on "
                                 f"{built.batch}{note}")
        self.session_ready.emit()
        move, self.pending = self.pending, None
        if move is not None:
            self._perform(move)

    def _build_failed(self, message: str) -> None:
        self.job, self.pending = None, None
        self._set_busy(None)
        self.window.show_message(f"cannot step through this graph: {message}")

    def _perform(self, move: str) -> None:
        actions = {"step": self.bar.step, "end": self.bar.run_to_end_of_phase,
                   "play": self.bar.play, "verify": self.verify, "build": lambda: None}
        actions[move]()

    def cancel_build(self) -> None:
        """Stop the build: the worker stops at its next node; a new build waits for it."""
        if self.job is not None:
            self.job.discard()
            if self.job.running and not self.synchronous:
                self.stopping = self.job
            self.job, self.pending = None, None
            self._set_busy(None)
            self.window.show_message("pass cancelled")

    def invalidate(self) -> None:
        """Drop the pass, its drawing and the torch badges."""
        self.workspace.drop_pass()

    def _pass_dropped(self, had: bool) -> None:
        self.cancel_build()
        if self.verify_job is not None:
            self.verify_job.discard()
            self.verify_job = None
        self.bar.set_session(None)
        self.receptive.set_session(None)
        self.presenter.clear()
        self.scene.clear_verification()
        self.bar.verify_action.setEnabled(True)
        self.show_weights()
        if had:
            self.session_dropped.emit()

    def _bar_moved(self, position: int) -> None:
        """The step bar moved the pass: the workspace hears of it."""
        self._bar_moving = True
        try:
            self.workspace.seek(position)
        finally:
            self._bar_moving = False

    def _position_changed(self) -> None:
        if not self._bar_moving:
            self.bar.show_position()  # moved by someone else
        self._draw_position()

    def _draw_position(self) -> None:
        """The canvas, tensors, formula and receptive field show the current step."""
        speed = self.bar.steps_per_second() if self.bar.playing else None
        self.presenter.show(self.built, speed)
        self._receptive_follows()

    def redraw(self) -> None:
        """Draw the current step again (after the canvas was rebuilt)."""
        if self.built is not None:
            self._draw_position()

    # -- torch check ------------------------------------------------------
    def verify(self) -> None:
        if self.built is None:
            self.request("verify")
            return
        if self.verify_job is not None:
            return
        spec = self.built.spec
        why = torch_check_refusal(self.workspace.doc, self.workspace.report, spec.batch,
                                  spec.dtype)
        if why is not None:
            self.window.show_message(f"torch check: {why}")
            return
        session = self.built.session
        self.verify_job = Job(verify, self.built.spec, session.feeds, session.targets,
                              parent=self)
        self.verify_job.finished.connect(self._job_verified)
        self.verify_job.failed.connect(self._verify_failed)
        self.bar.verify_action.setEnabled(False)
        self._set_busy("checking every node against PyTorch…")
        self.verify_job.run_here() if self.synchronous else self.verify_job.start()

    def _job_verified(self, result: Verified) -> None:
        self.verify_job = None
        self.workspace.set_verification(result)

    def _verified(self, result: Verified) -> None:
        self._set_busy(None)
        self.bar.verify_action.setEnabled(True)
        self.scene.show_verification(result.results)
        self.window.show_message(result.summary)
        self.verified.emit(result)

    def _verify_failed(self, message: str) -> None:
        self.verify_job = None
        self._set_busy(None)
        self.bar.verify_action.setEnabled(True)
        self.window.show_message(f"cannot check against torch: {message}")

    # -- helpers ----------------------------------------------------------
    def _set_busy(self, text: str | None) -> None:
        busy = text is not None
        self.busy.setRange(0, 0)  # busy until a build reports its progress
        self.busy.setFormat("")
        self.busy.setVisible(busy)
        self.cancel.setVisible(busy and self.job is not None)
        if busy:
            self.window.statusBar().showMessage(text)
        else:
            self.window.statusBar().clearMessage()
        self.busy_changed.emit(busy)
