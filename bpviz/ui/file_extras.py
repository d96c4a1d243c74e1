"""File › Export…, Import from PyTorch… and Export to PyTorch… for the main window.

FileExtras opens the ExportDialog with the editor's graph, the workspace's
pass (if one is built) and the last training run's metrics (if there was
one). Import from PyTorch asks about unsaved changes first (like Open), then
for a .py file, a factory and an input shape, and imports in a process of
its own (bpviz.ui.process_job): the file runs the user's code, which may take
long or never return, and only a process can be stopped whatever it does.
Meanwhile the status bar shows a busy bar, a Cancel button and what runs
(loading PyTorch, then the user's factory); Cancel kills the process and
nothing changes ("import cancelled"). The graph opens as a
new unsaved document and its weights become the workspace's (HeldWeights).
Export to PyTorch writes model.py with write_export and, beside it,
model.npz with the weights step-through would show, which the module's usage
note loads (on a worker thread: it runs only bpviz's code). Every failure is
shown with the window's `show_error` and leaves the graph as it was.

The dialogs go through `run_export_dialog`, `ask_torch_import` and
`ask_torch_export_path`, which tests replace. `synchronous = True` runs the
torch work on the calling thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QProgressBar, QToolButton

from bpviz.engine import OPS
from bpviz.ui import templates
from bpviz.ui.import_dialog import ImportRequest, TorchImportDialog
from bpviz.ui.process_job import News, ProcessJob
from bpviz.ui.thread_job import Job
from bpviz.ui.weight_files import save_weights_file
from bpviz.workspace import Workspace

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

PY_FILTER = "Python files (*.py);;All files (*)"
POLL_MS = 50


def _import(request: ImportRequest):
    from bpviz.oracle.importer import import_torch

    return import_torch(request.spec, request.shape)


TORCH_LOADED = "torch loaded"  # what the import's process reports once torch is in


def _import_in_child(child, request: ImportRequest):
    """The import's process: the ImportedModel (a GraphDocument and its weights).
    Reports TORCH_LOADED before the user's file and factory run."""
    import bpviz.oracle.importer  # noqa: F401 (imports torch, which takes seconds)

    child.report(TORCH_LOADED, force=True)
    return _import(request)


def running_message(request: ImportRequest) -> str:
    return f"importing from {Path(request.path).name}: running {request.factory}…"


def _export(document, path: str, weights_path: str | None) -> str:
    from bpviz.oracle.exporter import write_export

    return write_export(document, path, weights_path)


class FileExtras(QObject):
    imported = Signal()  # an imported graph is in the editor
    exported = Signal(str)  # the path of the module written

    def __init__(self, window: MainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = workspace
        self.synchronous = False
        self.job: Job | ProcessJob | None = None  # the torch work running, if any
        self._pending_import: tuple | None = None  # (request, asked_at) while importing
        # NOTE: held outside self too, for the lambda: it must see the process once
        # the window (and this object) are gone, a factory may never return.
        box = self._import_box = [None]
        self.destroyed.connect(lambda *_: box[0] is not None and box[0].kill())
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll_import)
        self.busy = QProgressBar()
        self.busy.setObjectName("torch_busy")
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(140)
        self.cancel = QToolButton()
        self.cancel.setObjectName("torch_cancel")
        self.cancel.setText("Cancel")
        self.cancel.clicked.connect(self.cancel_import)
        for widget in (self.busy, self.cancel):
            window.statusBar().addPermanentWidget(widget)
            widget.hide()

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
        folder = Path(templates.save_folder(self.window.editor.path))
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
        rows = self.workspace.training.metrics.rows
        path = window.editor.path
        dialog = ExportDialog(window.editor.doc, session=self.workspace.session,
                              metrics=list(rows) or None, parent=window,
                              folder=templates.save_folder(path),
                              stem=Path(path).stem if path else None)
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
        busy = f"importing {request.factory} from {Path(request.path).name} (loading PyTorch)…"
        if self.synchronous:
            job = Job(_import, request, parent=self)
            job.finished.connect(lambda result: self._imported(request, result, asked_at))
            job.failed.connect(lambda message: self._failed("Cannot import from PyTorch",
                                                            message))
            self._start(job, busy)
            return
        self.job = self._import_box[0] = ProcessJob(_import_in_child, request,
                                                    name="bpviz-torch-import")
        self._pending_import = (request, asked_at)
        self.job.start()
        self.window.statusBar().showMessage(busy)
        self._show_busy(True)
        self._poll_timer.start()

    def cancel_import(self) -> None:
        """Kill the import's process: the user's code may not listen to anything."""
        if isinstance(self.job, ProcessJob):
            self.job.kill()
            self._poll_import()

    def _poll_import(self) -> None:
        job = self.job
        if not isinstance(job, ProcessJob):
            self._poll_timer.stop()
            return
        news: News = job.poll()
        if news.progress == TORCH_LOADED and self._pending_import is not None:
            self.window.statusBar().showMessage(running_message(self._pending_import[0]))
        if not news.finished:
            return
        self._poll_timer.stop()
        self._show_busy(False)
        request, asked_at = self._pending_import
        self._pending_import = self._import_box[0] = None
        if news.cancelled:
            self.job = None
            self.window.statusBar().clearMessage()
            self.window.show_message("import cancelled")
        elif news.error is not None:
            self._failed("Cannot import from PyTorch", news.error)
        else:
            self._imported(request, news.result, asked_at)

    def _show_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.cancel.setVisible(busy)

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
        self.workspace.weights.set_imported(result.weights, f"imported weights "
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
        weights = save_weights_file(window, self.workspace, weights_path)
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

