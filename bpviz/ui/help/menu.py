"""The Help menu's windows for the main window: shortcuts, quick tour, notation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from bpviz.ui.help.notation import NotationDialog
from bpviz.ui.help.shortcuts import ShortcutsDialog

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow
    from bpviz.workspace import Workspace


class HelpWindows(QObject):
    def __init__(self, window: MainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window = window
        self.dialog = None

    def _show(self, dialog) -> None:
        """Show `dialog` in place of the one open (one Help window at a time)."""
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        self.dialog = dialog
        # NOTE: the tour deletes itself when skipped or done; forget it then, or the
        # next Help window would close a deleted object.
        dialog.destroyed.connect(lambda *_: self._forget(dialog))
        dialog.show()

    def _forget(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def shortcuts(self) -> None:
        self._show(ShortcutsDialog(self.window))

    def notation(self) -> None:
        self._show(NotationDialog(self.window))

    def tour(self) -> None:
        from bpviz.ui.help.tour import QuickTour

        self._show(QuickTour(self.window))
