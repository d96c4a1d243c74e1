"""The question before trained weights that were never saved are lost.

Quitting, New, Open and File › Examples replace the graph; when step-through
shows trained weights that were never written to a file
(`workspace.weights.unsaved_trained`), the window asks first: Save Weights…
(the weights file dialog; cancelling it keeps everything), Discard, or Cancel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QMessageBox

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow


def ask(window: MainWindow) -> str:
    """"save", "discard" or "cancel", from a message box."""
    iterations = window.workspace.training.iteration
    after = f" after {iterations:,} iterations" if iterations else ""
    box = QMessageBox(QMessageBox.Icon.Question, "Unsaved trained weights",
                      f"The weights trained{after} were never saved. Save them before "
                      f"they are gone?", parent=window)
    save = box.addButton("Save Weights…", QMessageBox.ButtonRole.AcceptRole)
    discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(save)
    box.exec()
    clicked = box.clickedButton()
    box.deleteLater()
    return "save" if clicked is save else "discard" if clicked is discard else "cancel"


def may_lose(window: MainWindow) -> bool:
    """True when the trained weights may go: none unsaved, saved now, or discarded."""
    if not window.workspace.weights.unsaved_trained:
        return True
    answer = window.ask_save_trained_weights()
    if answer == "save":
        path = window.weights.ask_save_path()
        return bool(path) and window.weights.save(path) is not None
    return answer == "discard"
