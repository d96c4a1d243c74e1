"""MainWindow: the canvas in the middle, the palette left, the inspector right.

New, Open, Save and recovery are GraphFiles' (bpviz.ui.graph_files), whose
every question and error goes through one method tests can answer.
More panels join with `add_dock`; toolbars with `addToolBar`.

What a run has (the pass, the weights held, the training run) is the
window's Workspace (bpviz.workspace), which follows the editor's document.
The panels of PANELS are each made with the window and the workspace and
observe the workspace, never one another, so their order does not matter.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QWidget,
)

from bpviz.scene.theme import Theme, current_theme, theme_manager
from bpviz.ui import menus, presentation, templates
from bpviz.ui.app import about_text, data_dir, settings
from bpviz.ui.autosave import Autosaver
from bpviz.ui.canvas import GraphView
from bpviz.ui.clipboard import NodeClipboard
from bpviz.ui.dock_room import forget_room, make_room
from bpviz.ui.editor import EditError, GraphEditor
from bpviz.ui.file_extras import FileExtras
from bpviz.ui.graph_files import GraphFiles
from bpviz.ui.help.menu import HelpWindows
from bpviz.ui.input_image import InputImageFiles
from bpviz.ui.inspector import Inspector
from bpviz.ui.palette import Palette
from bpviz.ui.status_bar import StatusBar
from bpviz.ui.stepping.controller import StepController
from bpviz.ui.training import install as install_training
from bpviz.ui.undo_focus import GraphUndoKeys
from bpviz.ui.weight_files import WeightFiles
from bpviz.ui.workspace_link import follow_editor
from bpviz.workspace import Workspace

MESSAGE_MS = 6000
PRESENTATION_SCALE = 1.5


class MainWindow(GraphFiles, QMainWindow):
    # (attribute, factory(window, workspace)): each observes the workspace only
    PANELS = (("stepping", StepController),  # Run menu, step bar, tensor/formula docks
              ("training_dock", install_training),  # bottom dock and Train menu
              ("weights", WeightFiles),  # File › Load/Save Weights…, Use Initial Weights
              ("files", FileExtras),  # Export…, PyTorch import and export
              ("input_image", InputImageFiles),  # File › Use Image as Input…
              ("help", HelpWindows))  # Help › Keyboard Shortcuts, Quick Tour, Notation

    def __init__(self, autosave: bool = True, remember_layout: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = GraphEditor(parent=self)
        self.view = GraphView(self.editor)
        self.setCentralWidget(self.view)
        self.setDockNestingEnabled(True)
        self.setStatusBar(StatusBar())  # before the panels put their widgets in it
        self.panels_menu = None
        self._room_timer = QTimer(self, singleShot=True, interval=0)
        self._room_timer.timeout.connect(lambda: make_room(self, self.view))
        self.palette = Palette()
        self.inspector = Inspector(self.editor)
        self.actions_ = menus.build_menus(self)
        self.docks = [
            self.add_dock("Palette", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea),
            self.add_dock("Inspector", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea)]
        self.workspace = Workspace(self.editor.doc, self.editor.report)
        follow_editor(self.workspace, self.editor)
        for name, make in self.PANELS:
            setattr(self, name, make(self, self.workspace))
        self.presentation_keys = presentation.step_keys(self)
        self.clipboard = NodeClipboard(self.editor, self.view, self.show_message)
        self.undo_keys = GraphUndoKeys(self, [self.actions_["undo"], self.actions_["redo"]])
        self.graph_status = self.statusBar().graph_label  # the graph's size or first error
        self._presentation: dict | None = None
        self._fitted = False
        self._docks_sized = False
        self._connect()
        self.autosaver = (Autosaver(data_dir(), lambda: self.editor.doc,
                                    lambda: self.editor.is_modified, lambda: self.editor.path,
                                    parent=self) if autosave else None)
        self.resize(1400, 900)
        self.remember_layout = remember_layout
        self.layout_restored = remember_layout and self._restore_layout()
        self.apply_theme(current_theme())
        self.update_title()
        self.update_status(self.editor.report)

    def _connect(self) -> None:
        editor = self.editor
        editor.report_changed.connect(self.update_status)
        editor.report_changed.connect(lambda _report: self.update_title())
        editor.document_replaced.connect(self.update_title)
        editor.undo_stack.cleanChanged.connect(lambda _clean: self.update_title())
        self.view.status_message.connect(self.show_message)
        self.inspector.message.connect(self.show_message)
        self.palette.op_activated.connect(self.add_at_centre)
        theme_manager().changed.connect(self.apply_theme)

    def add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        """Put `widget` in a dock with a toggle in View › Panels."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower().replace(' ', '_')}_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        dock.visibilityChanged.connect(lambda _shown: self._room_timer.start())
        if self.panels_menu is not None:
            self.panels_menu.addAction(dock.toggleViewAction())
        return dock

    # -- title and status -------------------------------------------------
    def update_title(self) -> None:
        name, path = self.editor.doc.name or "untitled", self.editor.path
        where = Path(path).name if path else "not saved"
        if templates.is_example(path):
            where = f"{Path(path).stem} (example)"
        self.setWindowTitle(f"{name} — {where}[*] — bpviz")
        self.setWindowModified(self.editor.is_modified)

    def _errors(self, report=None) -> list[str]:
        """The graph's errors, in the order of its nodes."""
        report = report if report is not None else self.editor.report
        return [report.errors[node_id] for node_id in self.editor.doc.nodes
                if node_id in report.errors]

    def update_status(self, report) -> None:
        doc = self.editor.doc
        errors = self._errors(report)
        if errors:
            more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
            self.statusBar().set_graph_status(f"⚠ {errors[0]}{more}", current_theme().error,
                                              tooltip="\n".join(errors))
            return
        count = len(doc.nodes)
        total = sum(report.param_counts.get(node_id, 0) for node_id in doc.nodes)
        self.statusBar().set_graph_status(f"{count} node{'s' if count != 1 else ''} · "
                                          f"{total:,} parameters")

    def show_message(self, text: str) -> None:
        if text in self._errors()[:1]:  # the error the right of the bar shows already, in red
            self.statusBar().clearMessage()
            return
        self.statusBar().showMessage(text, MESSAGE_MS)

    # -- edit menu -------------------------------------------------------------
    def copy_selection(self) -> None:
        self.clipboard.copy()

    def paste(self) -> None:
        self.clipboard.paste()

    def delete_selection(self) -> None:
        self.view.delete_selection()

    def select_all(self) -> None:
        self.editor.set_selection(list(self.editor.doc.nodes))

    def add_at_centre(self, op_name: str) -> None:
        try:
            node_id = self.view.add_in_sight(op_name)
        except EditError as error:
            self.show_message(str(error))
            return
        self.editor.set_selection([node_id])

    # -- view ------------------------------------------------------------------
    def refit(self) -> None:
        """Zoom to fit once the new graph is drawn."""
        self._fitted = False
        QTimer.singleShot(0, self.fit_once)

    def fit_once(self) -> None:
        """A graph opens fitted to the view, and stays so while the window and
        its docks settle, until the user zooms."""
        if not self._fitted:
            self._fitted = True
            self.view.zoom_to_fit()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self.layout_restored and not self._docks_sized:
            self._docks_sized = True
            self.resizeDocks(self.docks, [250, 330], Qt.Orientation.Horizontal)
        QTimer.singleShot(0, self.fit_once)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        forget_room(self)
        self._room_timer.start()  # a small window shrinks the docks, not only the canvas

    def apply_theme(self, theme: Theme) -> None:
        for name in ("light", "dark"):
            act = self.actions_.get(f"theme_{name}")
            if act is not None:
                act.setChecked(name == theme.name)
        self.update_status(self.editor.report)

    def toggle_presentation(self) -> None:
        self.set_presentation(self._presentation is None)

    def set_presentation(self, on: bool) -> None:
        """Large text, high contrast, full screen, the step bar and the graph fitted;
        no menu bar, status bar, other toolbars or palette (bpviz.ui.presentation)."""
        if on == (self._presentation is not None):
            return
        if on:
            self._presentation = presentation.enter(self, PRESENTATION_SCALE)
        else:
            saved, self._presentation = self._presentation, None
            presentation.leave(self, saved, PRESENTATION_SCALE)
        self.actions_["presentation"].setChecked(on)
        self.actions_["leave_presentation"].setEnabled(on)

    def zoom_about_centre(self, factor: float) -> None:
        self.view.zoom(factor)

    def show_about(self) -> None:
        QMessageBox.about(self, "About bpviz", about_text())

    # -- closing ---------------------------------------------------------------
    def _restore_layout(self) -> bool:
        """The size, place and docks of last time; False on the first launch."""
        store = settings()
        geometry, state = store.value("window/geometry"), store.value("window/state")
        if isinstance(state, QByteArray):
            self.restoreState(state)
        return isinstance(geometry, QByteArray) and self.restoreGeometry(geometry)

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.maybe_save():
            event.ignore()
            return
        self.set_presentation(False)
        if self.remember_layout:
            store = settings()
            store.setValue("window/geometry", self.saveGeometry())
            store.setValue("window/state", self.saveState())
        if self.autosaver is not None:
            self.autosaver.clean_exit()
        event.accept()

