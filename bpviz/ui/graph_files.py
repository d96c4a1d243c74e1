"""The window's graph files: New, Open, Save, Save As and recovery after a crash.

`GraphFiles` is mixed into MainWindow (bpviz.ui.main_window), whose editor,
status bar and title it uses. Every question it asks (save changes? restore?
which file?) and every error it shows goes through one method
(`ask_save_changes`, `ask_restore`, `ask_open_path`, `ask_save_path`,
`show_error`) so tests can answer it.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox

from bpviz.graph import GraphDocument, GraphError, load_graph, save_graph
from bpviz.ui import menus, templates, unsaved_weights
from bpviz.ui.app import data_dir
from bpviz.ui.autosave import Recovery, orphaned_recoveries

FILE_FILTER = "bpviz graphs (*.json);;All files (*)"


def file_name_for(graph_name: str) -> str:
    """"<graph name>.json" with the characters file systems refuse replaced."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", graph_name).strip(" ._") or "untitled"
    return f"{stem[:80]}.json"


class GraphFiles:
    """Opening, saving and restoring the editor's graph, for MainWindow."""

    # -- questions (tests replace these) --------------------------------------
    def ask_save_changes(self) -> str:
        """"save", "discard" or "cancel" (an example's Save button says Save As…)."""
        Button = QMessageBox.StandardButton
        box = QMessageBox(QMessageBox.Icon.Question, "Unsaved changes",
                          self.save_changes_question(),
                          Button.Save | Button.Discard | Button.Cancel, self)
        box.setDefaultButton(Button.Save)
        if templates.is_example(self.editor.path):
            box.button(Button.Save).setText("Save As…")
        answer = box.exec()
        box.deleteLater()
        return {Button.Save: "save", Button.Discard: "discard"}.get(answer, "cancel")

    def ask_save_trained_weights(self) -> str:
        """"save", "discard" or "cancel" for trained weights never saved."""
        return unsaved_weights.ask(self)

    def ask_restore(self, recovery: Recovery) -> bool:
        source = recovery.source or "a graph that was never saved"
        answer = QMessageBox.question(
            self, "Restore unsaved work?",
            f"bpviz did not close properly last time. Restore the unsaved changes to "
            f"{source}?", QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes)
        return answer == QMessageBox.StandardButton.Yes

    def ask_open_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open graph", self._folder(), FILE_FILTER)
        return path or None

    def ask_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self, "Save graph", self.suggested_save_path(),
                                              FILE_FILTER)
        if path and not Path(path).suffix:
            path += ".json"
        return path or None

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.warning(self, title, text)

    def save_changes_question(self) -> str:
        """Names the file when the graph has one, else the graph."""
        path = self.editor.path
        if templates.is_example(path):
            return (f"Save the changes to the example “{Path(path).stem}” "
                    f"as a file of your own?")
        name = Path(path).name if path else self.editor.doc.name or "untitled"
        return f"Save the changes to “{name}”?"

    def suggested_save_path(self) -> str:
        """The graph's file, or "<graph name>.json" in the last folder used outside
        bpviz's examples ("<example>.json" for an example)."""
        path = self.editor.path
        if path and not templates.is_example(path):
            return str(path)
        name = Path(path).name if path else file_name_for(self.editor.doc.name)
        return str(Path(templates.user_folder()) / name)

    def _folder(self) -> str:
        """The graph's folder, else that of the last file opened or saved."""
        if self.editor.path:
            return str(Path(self.editor.path).parent)
        return templates.user_folder()

    # -- files -----------------------------------------------------------
    def maybe_save(self) -> bool:
        """True when the current graph may be replaced (saved, discarded or unchanged),
        and trained weights never saved with it."""
        if self.editor.is_modified:
            answer = self.ask_save_changes()
            if answer == "cancel" or (answer == "save" and not self.save()):
                return False
        return unsaved_weights.may_lose(self)

    def new_graph(self) -> None:
        if self.maybe_save():
            self.editor.set_document(GraphDocument("untitled"))

    def open_dialog(self) -> None:
        if self.maybe_save():
            path = self.ask_open_path()
            if path:
                self.open_path(path)

    def open_file(self, path: str) -> bool:
        """Open after asking about unsaved changes (the recent and example menus)."""
        return self.maybe_save() and self.open_path(path)

    def open_path(self, path: str, show_errors: bool = True) -> bool:
        """Load `path` (half-edited graphs too); on failure the current graph stays."""
        try:
            doc = load_graph(path, strict=False)
        except GraphError as error:
            if show_errors:
                self.show_error("Cannot open the graph", str(error))
            return False
        self.editor.set_document(doc, str(path))
        menus.add_recent(path)
        self.refit()
        if templates.is_example(path):
            self.show_message(templates.open_example(self, path))
        else:
            self.show_message(f"opened {path}")
        return True

    def save(self) -> bool:
        """Save to the graph's file; an example (or a new graph) asks for one."""
        if not self.editor.path or templates.is_example(self.editor.path):
            return self.save_as()
        return self.save_to(self.editor.path)

    def save_as(self) -> bool:
        path = self.ask_save_path()
        return bool(path) and self.save_to(path)

    def save_to(self, path: str) -> bool:
        try:
            save_graph(self.editor.doc, path)
        except (OSError, GraphError) as error:
            self.show_error("Cannot save the graph", f"{path}: {error}")
            return False
        self.editor.mark_saved(path)
        menus.add_recent(path)
        self.update_title()
        self.show_message(f"saved {path}")
        return True

    # -- recovery --------------------------------------------------------------
    def offer_recovery(self) -> bool:
        """Offer each orphaned recovery file; True when one was restored."""
        if self.autosaver is None:
            return False
        restored = False
        for recovery in orphaned_recoveries(data_dir()):
            if not restored and self.ask_restore(recovery):
                restored = self._restore(recovery)
            recovery.discard()
        return restored

    def _restore(self, recovery: Recovery) -> bool:
        try:
            doc = recovery.load()
        except (OSError, GraphError) as error:
            self.show_error("Cannot restore", str(error))
            return False
        self.editor.set_document(doc, recovery.source)
        self.editor.undo_stack.resetClean()  # unsaved until the user saves
        self.autosaver.save_now()
        self.update_title()
        self.refit()
        return True
