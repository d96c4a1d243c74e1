"""Help › Keyboard Shortcuts: every shortcut of the window, read from its actions.

Nothing here lists keys by hand: `shortcut_rows` walks the window's QActions
(menus, step bar, training panel) when the dialog opens, so a new action with
a shortcut is listed the moment it exists; the keys of the explained entry
(arrow keys, Page Up/Down, Esc), which are no actions, come from the table
their handling reads (bpviz.ui.stepping.entry_keys). An action whose text
changes as it is used (Undo becomes "Undo Rename 'loss'…", Play "Pause") is
listed by its stable name, set as its `STABLE_NAME` property.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpviz.ui.action_names import STABLE_NAME
from bpviz.ui.stepping.entry_keys import entry_key_rows


def action_name(act: QAction) -> str:
    """The action's stable name, or its text without its mnemonic ampersand."""
    stable = act.property(STABLE_NAME)
    text = stable if isinstance(stable, str) and stable else act.text()
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").strip()


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(action, its keys) for every action of `window` with a shortcut, by name."""
    rows = {}
    for act in window.findChildren(QAction):
        keys = [key.toString(QKeySequence.SequenceFormat.NativeText)
                for key in act.shortcuts() if not key.isEmpty()]
        name = action_name(act)
        if keys and name:
            rows[(name, ", ".join(keys))] = None
    return sorted(rows, key=lambda row: row[0].lower())


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        rows = shortcut_rows(window) + entry_key_rows()
        self.table = QTableWidget(len(rows), 2)
        self.table.setObjectName("shortcut_table")
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for index, (name, keys) in enumerate(rows):
            self.table.setItem(index, 0, QTableWidgetItem(name))
            self.table.setItem(index, 1, QTableWidgetItem(keys))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.table.resizeRowsToContents()
        self.resize(620, 600)

    def listed(self) -> list[tuple[str, str]]:
        return [(self.table.item(row, 0).text(), self.table.item(row, 1).text())
                for row in range(self.table.rowCount())]
