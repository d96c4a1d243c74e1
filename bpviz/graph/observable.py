"""Observers of a model: callbacks told (event_name, payload) after each change.

`GraphDocument` and `Workspace` both announce their changes this way; widgets
subscribe and redraw. Knows nothing of Qt.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Listener = Callable[[str, dict[str, Any]], None]


class Observable:
    """Keeps a list of listeners; `_emit` calls each with (event_name, payload).

    A listener may subscribe or unsubscribe while being called: `_emit` walks
    a copy of the list.
    """

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, callback: Listener) -> Callable[[], None]:
        """Call `callback(event_name, payload)` after each change; returns an unsubscriber."""
        self._listeners.append(callback)
        return lambda: self.unsubscribe(callback)

    def unsubscribe(self, callback: Listener) -> None:
        if callback in self._listeners:
            self._listeners.remove(callback)

    def _emit(self, event: str, **payload: Any) -> None:
        for callback in list(self._listeners):
            callback(event, payload)
