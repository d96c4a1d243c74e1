"""The window's step-through toolbar and its Run menu.

WindowStepBar is the StepBar with what the window needs around it: its
moves work before there is a session (they ask for one with
`session_wanted(move)` and the controller replays the move once the pass is
built), a batch size and a seed for the random batch, which weights the pass
shows (`set_weights`), and the "Verify against torch" action.
`build_run_menu` puts the same actions (hence the same F10, Shift+F10, F5
and Home shortcuts, registered once) in a Run menu before Help.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow, QMenu, QSpinBox, QWidget

from bpviz.ui.stepping import StepBar

MAX_BATCH = 64
SPIN_CHROME = 36  # pixels of a spin box around its text: frame and arrows


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
        self.addWidget(self.weights)
        self.verify_action = QAction("Verify against torch", self)
        self.verify_action.setIconText("✓ torch")
        self.verify_action.setObjectName("verify_action")
        self.verify_action.setToolTip("Verify every node's values and gradients against "
                                      "PyTorch autograd")
        self.verify_action.triggered.connect(lambda: self.session_wanted.emit("verify"))
        self.addSeparator()
        self.addAction(self.verify_action)
        self._moved()

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

    def set_weights(self, label: str, batch: str, note: str = "") -> None:
        """Show which weights the pass runs with (and on what `batch`: "a random
        batch", "4 moons validation samples (standardised)"); the tooltip adds the note."""
        self.weights.setText(f" {'⚠ ' if note else ''}{label} ")
        tip = f"the pass shows {label} on {batch}"
        self.weights.setToolTip(tip + (f"\n{note}" if note else ""))
        self._batch_text = batch
        if self.session is None:
            self._moved()

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

    def _moved(self) -> None:
        super()._moved()
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

