"""File › Export…, Import from PyTorch… and Export to PyTorch… for the main window.

FileExtras opens the ExportDialog with the editor's graph, the step-through
pass (if one is built) and the last training run's metrics (if there was
one). Import from PyTorch asks about unsaved changes first (like Open), then
for a .py file, a factory and an input shape, and imports on a worker thread
(torch loads slowly); the graph opens as a new unsaved document and its
weights become the window's (HeldWeights). Export to PyTorch writes model.py
with write_export and, beside it, model.npz with the weights step-through
would show, which the module's usage note loads. Every failure is shown with
the window's `show_error` and leaves the graph as it was.

The dialogs go through `run_export_dialog`, `ask_torch_import` and
`ask_torch_export_path`, which tests replace. `synchronous = True` runs the
torch work on the calling thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from bpviz.engine import OPS
from bpviz.ui.import_dialog import ImportRequest, TorchImportDialog
from bpviz.ui.stepthrough.worker import Job

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

PY_FILTER = "Python files (*.py);;All files (*)"


def _import(request: ImportRequest):
    from bpviz.oracle.importer import import_torch

    return import_torch(request.spec, request.shape)


def _export(document, path: str, weights_path: str | None) -> str:
    from bpviz.oracle.exporter import write_export

    return write_export(document, path, weights_path)


class FileExtras(QObject):
    imported = Signal()  # an imported graph is in the editor
    exported = Signal(str)  # the path of the module written

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.synchronous = False
        self.job: Job | None = None

    # -- dialogs (tests replace these) -------------------------------------------
    def run_export_dialog(self, dialog) -> None:
        dialog.exec()

    def ask_torch_import(self) -> ImportRequest | None:
        dialog = TorchImportDialog(self.window)
        try:
            return dialog.ask()
        finally:
            dialog.deleteLater()

    def ask_torch_export_path(self) -> str | None:
        editor = self.window.editor
        folder = Path(editor.path).parent if editor.path else Path.cwd()
        path, _ = QFileDialog.getSaveFileName(self.window, "Export to PyTorch",
                                              str(folder / "model.py"), PY_FILTER)
        if path and not Path(path).suffix:
            path += ".py"
        return path or None

    # -- File › Export… ----------------------------------------------------------
    def export_dialog(self):
        """The ExportDialog for what the window has now (shown with run_export_dialog)."""
        from bpviz.ui.export_dialog import ExportDialog

        window = self.window
        rows = window.training_dock.widget().metrics.rows
        dialog = ExportDialog(window.editor.doc, session=window.stepping.session,
                              metrics=list(rows) or None, parent=window)
        dialog.exported.connect(lambda path: window.show_message(f"exported {path}"))
        self.run_export_dialog(dialog)
        dialog.deleteLater()  # gone once the event loop has it
        return dialog

    # -- torch -------------------------------------------------------------------
    def _start(self, job: Job, busy: str) -> None:
        self.job = job
        self.window.statusBar().showMessage(busy)  # until the job is done
        job.run_here() if self.synchronous else job.start()

    def _busy(self) -> bool:
        if self.job is not None:
            self.window.show_message("PyTorch is still busy with the last import or export")
        return self.job is not None

    def import_torch(self) -> None:
        if self._busy() or not self.window.maybe_save():
            return
        request = self.ask_torch_import()
        if request is None:
            return
        stack = self.window.editor.undo_stack
        asked_at = (self.window.editor.doc, stack.index())
        job = Job(_import, request, parent=self)
        job.finished.connect(lambda result: self._imported(request, result, asked_at))
        job.failed.connect(lambda message: self._failed("Cannot import from PyTorch",
                                                        message))
        self._start(job, f"importing {request.factory} from {Path(request.path).name} "
                         f"(loading PyTorch)…")

    def _imported(self, request: ImportRequest, result, asked_at) -> None:
        self.job = None
        window, editor = self.window, self.window.editor
        doc, index = asked_at
        edited = doc is not editor.doc or index != editor.undo_stack.index()
        if edited and not window.maybe_save():
            window.show_message("import dropped: the graph was edited meanwhile")
            return
        editor.set_document(result.document)
        editor.undo_stack.resetClean()  # a new graph, unsaved until the user saves it
        window.weights.set_imported(result.weights, f"imported weights "
                                    f"({Path(request.path).name}:{request.factory})")
        window.update_title()
        window.refit()
        has_loss = any(OPS[node.op].is_loss for node in result.document.nodes.values())
        hint = "" if has_loss else " · add a loss node to train it"
        window.show_message(f"imported {request.factory} from {request.path}: "
                            f"{len(result.document.nodes)} nodes with their weights{hint}")
        self.imported.emit()

    def _failed(self, title: str, message: str) -> None:
        self.job = None
        self.window.statusBar().clearMessage()
        self.window.show_error(title, message)

    def export_torch(self) -> None:
        if self._busy():
            return
        window = self.window
        why = window.editor.report.errors
        if any(node_id in why for node_id in window.editor.doc.nodes):
            window.show_error("Cannot export to PyTorch", "fix the graph's errors first")
            return
        path = self.ask_torch_export_path()
        if not path:
            return
        weights_path = str(Path(path).with_suffix(".npz"))
        weights = window.weights.save(weights_path)
        if weights is None:
            return
        job = Job(_export, window.editor.doc.copy(), path, weights_path, parent=self)
        job.finished.connect(lambda cls: self._exported(path, f"the {weights} in "
                                                        f"{Path(weights_path).name}", cls))
        job.failed.connect(lambda message: self._failed("Cannot export to PyTorch", message))
        self._start(job, f"writing {Path(path).name} (loading PyTorch)…")

    def _exported(self, path: str, weights: str, cls: str) -> None:
        self.job = None
        self.window.show_message(f"wrote {path} (class {cls}) and {weights}")
        self.exported.emit(path)

