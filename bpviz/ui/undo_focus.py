"""Undo and Redo reach the graph whatever has focus.

A text field or spin box claims Ctrl+Z for its own typing, so with a field of
the inspector (or the step bar, or the training panel) focused, Edit's
"Undo Change …" did nothing. `GraphUndoKeys` lets a field keep the key only
while it holds typing not yet committed (its line edit is modified); otherwise
the window's Undo and Redo actions get it.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QLineEdit, QWidget


def typing_pending(widget: QWidget) -> bool:
    """The widget is a text field (or spin box) with typing not yet committed."""
    edit = widget if isinstance(widget, QLineEdit) else None
    if isinstance(widget, QAbstractSpinBox):
        edit = widget.findChild(QLineEdit)
    return edit is not None and edit.isModified()


class GraphUndoKeys(QObject):
    """Hands `actions`' shortcuts (the window's Undo and Redo) to the window
    while a text field of `window` has focus and no typing of its own."""

    def __init__(self, window: QWidget, actions) -> None:
        super().__init__(window)
        self.window = window
        self.actions = list(actions)
        QApplication.instance().installEventFilter(self)

    def _matches(self, event: QKeyEvent) -> bool:
        pressed = QKeySequence(event.keyCombination())
        return any(pressed.matches(key) == QKeySequence.SequenceMatch.ExactMatch
                   for act in self.actions for key in act.shortcuts())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.ShortcutOverride or not isinstance(watched, QWidget):
            return False
        if (isinstance(watched, (QLineEdit, QAbstractSpinBox))
                and watched.window() is self.window and not typing_pending(watched)
                and self._matches(event)):
            event.ignore()  # not the field's: the window's shortcut fires
            return True
        return False
