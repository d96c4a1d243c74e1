"""Helpers for the training panel's tests (the make_panel fixture is in conftest.py)."""

from __future__ import annotations

FINISH_S = 60_000  # ms: generous, the machine may be shared


def wait_idle(qtbot, panel, timeout=FINISH_S) -> None:
    qtbot.waitUntil(lambda: panel.state == "idle", timeout=timeout)


def batch_points(panel) -> int:
    return panel.loss_plot.data["batch"].seen
