"""Helpers for driving a real MainWindow in tests: questions answered, errors recorded."""

from __future__ import annotations

from pathlib import Path

from bpviz.ui.main_window import MainWindow
from tests.ui.eventloop import settle

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
TWO_LAYER = EXAMPLES / "two_layer_classifier.json"
TINY_CNN = EXAMPLES / "tiny_cnn.json"


class Answers:
    """What the patched window asked and showed, and what it will answer."""

    def __init__(self) -> None:
        self.save_changes = "discard"
        self.save_trained = "discard"
        self.restore = True
        self.open_path: str | None = None
        self.save_path: str | None = None
        self.questions: list[str] = []
        self.errors: list[tuple[str, str]] = []


def patch_questions(window: MainWindow) -> Answers:
    """Replace every dialog of `window` with a recorded answer."""
    answers = Answers()

    def ask_save_changes() -> str:
        answers.questions.append("save_changes")
        return answers.save_changes

    def ask_save_trained_weights() -> str:
        answers.questions.append("save_trained")
        return answers.save_trained

    def ask_restore(recovery) -> bool:
        answers.questions.append("restore")
        return answers.restore

    window.ask_save_changes = ask_save_changes
    window.ask_save_trained_weights = ask_save_trained_weights
    window.ask_restore = ask_restore
    window.ask_open_path = lambda: answers.open_path
    window.ask_save_path = lambda: answers.save_path
    window.show_error = lambda title, text: answers.errors.append((title, text))
    return answers


def make_window(qtbot, path: Path | None = TWO_LAYER) -> tuple[MainWindow, Answers]:
    window = MainWindow()
    answers = patch_questions(window)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    if path is not None:
        assert window.open_path(str(path))
    return window, answers


def fitted_and_stepped(qtbot, path: Path, steps: int) -> tuple[MainWindow, Answers]:
    """A 1600×1000 window on `path`, zoomed to fit, `steps` steps into its pass."""
    window, answers = make_window(qtbot, path)
    window.resize(1600, 1000)
    settle()
    window.view.zoom_to_fit()
    window.stepping.synchronous = True
    for _ in range(steps):
        window.stepping.request("step")
        settle()  # painted after every step, as a user would see it
    return window, answers
