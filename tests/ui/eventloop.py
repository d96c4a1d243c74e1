"""Waiting for Qt without sleeping: run the event loop until it has nothing left to do."""

from __future__ import annotations

from PySide6.QtCore import QAbstractEventDispatcher, QEventLoop

MAX_ROUNDS = 200  # a timer that is always due (an animation) cannot keep settle() going


def settle() -> None:
    """Run what Qt has queued (posted events such as layout requests and repaints,
    zero-interval timers, and whatever those queue in turn) until a round of the event
    loop finds nothing to do: what a user would see next, however busy the machine."""
    dispatcher = QAbstractEventDispatcher.instance()
    for _ in range(MAX_ROUNDS):
        if not dispatcher.processEvents(QEventLoop.ProcessEventsFlag.AllEvents):
            return
