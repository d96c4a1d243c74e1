"""The step-through toolbar: reset, back, step, run to the end of the phase, play.

StepBar drives a StepSession and emits `position_changed(position)` after
every move (-1: before the first step); `show_position` redraws it after the
session was moved elsewhere, without a signal. Shortcuts: F10 step,
Shift+F10 back, F5 play/pause, Home reset; they work anywhere in the window
the bar sits in.

WindowStepBar is the StepBar with what the window needs around it: its
moves work before there is a session (they ask for one with
`session_wanted(move)` and the controller replays the move once the pass is
built), a batch size and a seed for the random batch (`settings_changed`),
which weights the pass shows (`set_weights`), and the "Verify against torch"
action. `build_run_menu` puts the same actions (hence the same F10,
Shift+F10, F5 and Home shortcuts, registered once) in a Run menu before Help.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMainWindow,
    QMenu,
    QSlider,
    QSpinBox,
    QToolBar,
    QWidget,
)

from bpviz.engine.stepping import StepSession
from bpviz.ui.action_names import STABLE_NAME
from bpviz.ui.stepping.elided_label import ElidedLabel
from bpviz.ui.theme_icons import themed_icon

SPEEDS = (0.5, 1, 2, 3, 5, 8, 12, 20)  # steps per second, one per slider notch
MAX_BATCH = 64
SPIN_CHROME = 36  # pixels of a spin box around its text: frame and arrows
SPEED_WIDTH = (110, 60)  # px: the speed slider in a wide bar, in a narrow one
NARROW_BAR = 1300  # px: a bar narrower than this gives the step's text more room


class StepBar(QToolBar):
    position_changed = Signal(int)

    def __init__(self, session: StepSession | None = None, parent: QWidget | None = None):
        super().__init__("Step through", parent)
        self.setObjectName("step_bar")
        self._session: StepSession | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        icon = themed_icon  # drawn in the palette's text colour: visible in either theme
        self.reset_action = self._action("Reset", icon("skip_backward"), "Home", self.reset)
        self.back_action = self._action("Step back", icon("seek_backward"), "Shift+F10",
                                        self.step_back)
        self.step_action = self._action("Step", icon("seek_forward"), "F10", self.step)
        self.end_action = self._action("Run to end of phase", icon("skip_forward"), None,
                                       self.run_to_end_of_phase)
        self.play_action = self._action("Play", icon("play"), "F5", self.toggle_play)
        self.play_action.setCheckable(True)
        self.play_action.setProperty(STABLE_NAME, "Play / Pause")  # its text says which
        self._build_speed()
        self.label = ElidedLabel()
        self.label.setObjectName("step_label")
        font = self.label.font()
        font.setPointSize(max(font.pointSize(), 11))
        self.label.setFont(font)
        self.addWidget(self.label)
        self.set_session(session)

    def _action(self, text: str, icon, shortcut: str | None, slot) -> QAction:
        action = QAction(icon, text, self)
        tip = text
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            tip += f" ({shortcut})"
        action.setToolTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_speed(self) -> None:
        self.speed = QSlider(Qt.Orientation.Horizontal)
        self.speed.setObjectName("step_speed")
        self.speed.setRange(0, len(SPEEDS) - 1)
        self.speed.setValue(SPEEDS.index(2))
        self.speed.setFixedWidth(SPEED_WIDTH[0])
        self.speed.valueChanged.connect(self._speed_changed)
        self.speed_label = QLabel()
        self.addWidget(self.speed)
        self.addWidget(self.speed_label)
        self.addSeparator()
        self._speed_changed()

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """A narrow bar has a narrower speed slider, so the step's text keeps its room."""
        super().resizeEvent(event)
        width = SPEED_WIDTH[self.width() < NARROW_BAR]
        if self.speed.width() != width:
            self.speed.setFixedWidth(width)

    # -- the session ----------------------------------------------------
    @property
    def session(self) -> StepSession | None:
        return self._session

    def set_session(self, session: StepSession | None) -> None:
        """Drive another session (None: nothing to step); it starts where it is."""
        self.pause()
        self._session = session
        self._moved()

    def steps_per_second(self) -> float:
        return SPEEDS[self.speed.value()]

    # -- moves ----------------------------------------------------------
    def step(self) -> None:
        if self._session is not None and self._session.step_forward():
            self._moved()

    def step_back(self) -> None:
        if self._session is not None and self._session.step_back():
            self._moved()

    def reset(self) -> None:
        if self._session is not None:
            self.pause()
            self._session.reset()
            self._moved()

    def run_to_end_of_phase(self) -> None:
        if self._session is not None:
            self._session.run_to_end_of_phase()
            self._moved()

    def seek(self, position: int) -> None:
        if self._session is not None:
            self._session.seek(position)
            self._moved()

    def toggle_play(self) -> None:
        if self._timer.isActive():
            self.pause()
        else:
            self.play()

    def play(self) -> None:
        if self._session is None:
            return
        if self._session.at_end:
            self._session.reset()
            self._moved()
        self._timer.start()
        self._show_playing(True)

    def pause(self) -> None:
        self._timer.stop()
        self._show_playing(False)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def _tick(self) -> None:
        self.step()
        if self._session is None or self._session.at_end:
            self.pause()

    def _speed_changed(self) -> None:
        speed = self.steps_per_second()
        self._timer.setInterval(round(1000 / speed))
        self.speed_label.setText(f" {speed:g} steps/s ")

    def _show_playing(self, playing: bool) -> None:
        self.play_action.setChecked(playing)
        self.play_action.setIcon(themed_icon("pause" if playing else "play"))
        self.play_action.setText("Pause" if playing else "Play")
        self.play_action.setToolTip(("Pause" if playing else "Play") + " (F5)")

    def _moved(self) -> None:
        self.show_position()
        session = self._session
        self.position_changed.emit(session.position if session is not None else -1)

    def show_position(self) -> None:
        """Enable the moves and say where the session is (no signal)."""
        session = self._session
        has = session is not None
        self.reset_action.setEnabled(has and not session.at_start)
        self.back_action.setEnabled(has and not session.at_start)
        self.step_action.setEnabled(has and not session.at_end)
        self.end_action.setEnabled(has and not session.at_end)
        self.play_action.setEnabled(has)
        self.label.setText(describe_position(session))


class WindowStepBar(StepBar):
    session_wanted = Signal(str)  # "step", "end", "play" or "verify"
    settings_changed = Signal()  # batch size or seed
    _batch_text = "a random batch"  # what F10 will build a pass of

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(None, parent)
        self.batch = self._spin("batch ", 1, MAX_BATCH, 4, "step_batch",
                                "samples in the random batch (small: stepping stays instant)")
        self.seed = self._spin("seed ", 0, 2**31 - 1, 0, "step_seed",
                               "seed of the weights and of the random batch")
        self.weights = QLabel()
        self.weights.setObjectName("step_weights")
        self.weights.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.weights)
        self.verify_action = QAction("Verify against torch", self)
        self.verify_action.setIconText("✓ torch")
        self.verify_action.setObjectName("verify_action")
        self.verify_action.setToolTip("Verify every node's values and gradients against "
                                      "PyTorch autograd")
        self.verify_action.triggered.connect(lambda: self.session_wanted.emit("verify"))
        self.addSeparator()
        self.addAction(self.verify_action)
        self.show_position()

    def _spin(self, prefix: str, low: int, high: int, value: int, name: str,
              tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setObjectName(name)
        spin.setPrefix(prefix)
        spin.setRange(low, high)
        spin.setValue(value)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda _value: self.settings_changed.emit())
        # NOTE: sized for seven digits, not for the largest seed: the bar must keep
        # its other widgets in sight in a narrow window.
        digits = spin.fontMetrics().horizontalAdvance(prefix + "0" * min(7, len(str(high))))
        spin.setMaximumWidth(digits + SPIN_CHROME)
        self.addWidget(spin)
        return spin

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_weights()

    def _fit_weights(self) -> None:
        """A narrow bar shows which weights on two lines."""
        narrow = self.width() < NARROW_BAR
        metrics, words = self.weights.fontMetrics(), self.weights.text().split()
        half = min((max(metrics.horizontalAdvance(" ".join(words[:cut])),
                        metrics.horizontalAdvance(" ".join(words[cut:])))
                    for cut in range(1, len(words))), default=0) + 2 * metrics.averageCharWidth()
        self.weights.setWordWrap(narrow)
        self.weights.setMinimumWidth(half if narrow else 0)
        self.weights.setMaximumWidth(half if narrow else 16777215)

    def set_weights(self, label: str, batch: str, note: str = "", image: str = "") -> None:
        """Show which weights the pass runs with (and on what `batch`: "a random
        batch", "4 moons validation samples (standardised)"; `image`: the picture
        that is its sample 0); the tooltip adds the note."""
        on = f" · on {image}" if image else ""
        self.weights.setText(f" {'⚠ ' if note else ''}{label}{on} ")
        self._fit_weights()
        tip = f"the pass shows {label} on {batch}"
        self.weights.setToolTip(tip + (f"\n{note}" if note else ""))
        self._batch_text = batch
        if self.session is None:
            self.show_position()

    # -- moves that need a session first -------------------------------
    def step(self) -> None:
        if self.session is None:
            self.session_wanted.emit("step")
        else:
            super().step()

    def run_to_end_of_phase(self) -> None:
        if self.session is None:
            self.session_wanted.emit("end")
        else:
            super().run_to_end_of_phase()

    def toggle_play(self) -> None:
        if self.session is None:
            self.play_action.setChecked(False)
            self.session_wanted.emit("play")
        else:
            super().toggle_play()

    def show_position(self) -> None:
        super().show_position()
        if self.session is None:
            for action in (self.step_action, self.end_action, self.play_action):
                action.setEnabled(True)
            self.label.setText(f"F10: build a pass of {self._batch_text} and step through it")


def build_run_menu(window: QMainWindow, bar: WindowStepBar, extra: list[QAction]) -> QMenu:
    """A Run menu with the bar's actions, put before the Help menu."""
    menu = QMenu("&Run", window)
    menu.setObjectName("run_menu")
    menu.addActions([bar.step_action, bar.back_action, bar.play_action, bar.reset_action,
                     bar.end_action])
    menu.addSeparator()
    menu.addAction(bar.verify_action)
    menu.addSeparator()
    menu.addActions(extra)
    help_action = next((act for act in window.menuBar().actions()
                        if act.text().replace("&", "") == "Help"), None)
    if help_action is not None:
        window.menuBar().insertMenu(help_action, menu)
    else:
        window.menuBar().addMenu(menu)
    return menu


def describe_position(session: StepSession | None) -> str:
    """'phase: backward · step 7/18 · node c2 (conv2d)', or what to do first."""
    if session is None:
        return "no pass to step through"
    step = session.current
    if step is None:
        updates = f", {session.update_count} update" if session.update_count else ""
        return (f"ready: {len(session.steps)} steps ({session.forward_count} forward, "
                f"{session.update_start - session.forward_count} backward{updates}) · "
                "F10 to step")
    text = (f"phase: {step.phase} · step {step.index + 1}/{step.total} · "
            f"node {step.node} ({step.op})")
    if step.phase == "update" and step.index == step.total - 1:
        text += f" · L = {session.loss:.4g} → {session.loss_after:.4g} on this batch"
    elif step.phase == "backward" or step.index == step.total - 1:
        text += f" · L = {session.loss:.4g}"
    return text
