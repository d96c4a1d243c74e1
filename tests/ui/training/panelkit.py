"""Helpers for the training panel's tests (the make_panel fixture is in conftest.py)."""

from __future__ import annotations

FINISH_S = 60_000  # ms: generous, the machine may be shared


def wait_idle(qtbot, panel, timeout=FINISH_S) -> None:
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=timeout)


def batch_points(panel) -> int:
    return panel.loss_plot.data["batch"].seen


def wait_polls(qtbot, panel, count: int = 3) -> None:
    """Let the panel take the run's news `count` more times (its timer's ticks): a
    window for what is already on its way, counted in the panel's own polls rather
    than in milliseconds, so a busy machine gets as many chances as a quiet one."""
    for _ in range(count):
        with qtbot.waitSignal(panel.timer.timeout, timeout=FINISH_S):
            pass
