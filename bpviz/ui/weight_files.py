"""File › Load Weights…, Save Weights… and Use Initial Weights for the main window.

WeightFiles asks for the files and says what happened; which weights are
held and used is the workspace's (bpviz.workspace.weights.HeldWeights:
trained, loaded or imported, their rules are written there). Load checks
the file against the graph at once and changes nothing when it does not fit
(the loader's message is shown). Save writes the weights step-through would
show now. The file dialogs are `ask_load_path` and `ask_save_path`, replaced
in tests; errors go to the window's `show_error`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from bpviz.ui import templates
from bpviz.workspace import Workspace
from bpviz.workspace.sources import WeightSource
from bpviz.workspace.trained import what_changed

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

WEIGHTS_FILTER = "bpviz weights (*.npz);;All files (*)"


def save_weights_file(window, workspace: Workspace, path: str) -> str | None:
    """Write the weights step-through would show now to `path` and say so; what
    they are ("trained weights", …), or None when it failed (the error shown)."""
    try:
        made = workspace.weights.save(path)
    except (ValueError, OSError) as error:
        window.show_error("Cannot save the weights", f"{path}: {error}")
        return None
    note = f" ({made.note})" if made.note else ""
    window.show_message(f"saved the {made.label} to {path}{note}")
    return made.label


class WeightFiles(QObject):
    def __init__(self, window: MainWindow, workspace: Workspace) -> None:
        super().__init__(window)
        self.window = window
        self.workspace = workspace
        workspace.subscribe(self._workspace_event)

    # -- what is held (the workspace's) ----------------------------------------
    @property
    def current(self) -> WeightSource | None:
        return self.workspace.weights.current

    def start_for(self, doc) -> tuple[dict, str] | None:
        return self.workspace.weights.start_for(doc)

    @property
    def seed(self) -> int:
        return self.workspace.settings.seed

    def _workspace_event(self, event: str, payload: dict) -> None:
        """An edit made the trained weights stop fitting the graph, or fit again: say so."""
        if event != "weights_changed" or "dropped" not in payload:
            return
        source, dropped = payload["source"], payload["dropped"]
        shown = source.label if source is not None else f"initial weights (seed {self.seed})"
        if dropped is None:
            self.window.show_message(f"the {shown} fit the graph again: step-through "
                                     f"shows them and training starts from them")
            return
        trained = self.workspace.training.trained
        why = (f" ({what_changed(trained.doc, self.workspace.doc)})"
               if dropped.kind == "trained" and trained is not None else "")
        unsaved = "" if dropped is self.workspace.weights.saved else " (never saved)"
        self.window.show_message(f"the {dropped.label}{unsaved} no longer fit the graph{why}: "
                                 f"step-through shows the {shown}; Undo brings them back")

    # -- dialogs (tests replace these) -----------------------------------------
    def ask_load_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Load weights", self._folder(),
                                              WEIGHTS_FILTER)
        return path or None

    def ask_save_path(self) -> str | None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save weights", self._suggestion(),
                                              WEIGHTS_FILTER)
        if path and not Path(path).suffix:
            path += ".npz"
        return path or None

    def _graph_path(self) -> str | None:
        return self.window.editor.path

    def _folder(self) -> str:
        path = self._graph_path()
        return str(Path(path).parent) if path else templates.user_folder()

    def _suggestion(self) -> str:
        """"<graph file>.npz" beside the graph; an example's in the user's folder."""
        path = self._graph_path()
        stem = Path(path).stem if path else "weights"
        return str(Path(templates.save_folder(path)) / f"{stem}.npz")

    # -- menu commands ---------------------------------------------------------
    def load_dialog(self) -> None:
        path = self.ask_load_path()
        if path:
            self.load(path)

    def load(self, path: str, quiet: bool = False) -> bool:
        """Use the weights in `path` from now on; on any problem nothing changes.
        `quiet`: no status message (the caller writes one)."""
        try:
            self.workspace.weights.load(path)
        except ValueError as error:  # GraphError, WeightsError, a bad parameter
            self.window.show_error("Cannot load the weights", str(error))
            return False
        if not quiet:
            self.window.show_message(f"loaded the weights in {path}: step-through shows "
                                     f"them and training starts from them")
        return True

    def use_initial(self) -> None:
        """Forget trained, loaded or imported weights: the seed's are used again."""
        if not self.workspace.weights.held:
            self.window.show_message(f"already using the initial weights (seed {self.seed})")
            return
        self.workspace.weights.forget()
        self.window.show_message(f"using the initial weights (seed {self.seed}): "
                                 f"step-through shows them and training starts from them")

    def save_dialog(self) -> None:
        path = self.ask_save_path()
        if path:
            self.save(path)

    def save(self, path: str) -> str | None:
        """Write the weights step-through would show now (bpviz's .npz layout);
        what they are ("trained weights", …), or None when it failed."""
        return save_weights_file(self.window, self.workspace, path)
