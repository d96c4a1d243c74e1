"""The weights the window holds: the seed's, trained, loaded from a file, or imported.

HeldWeights decides what step-through shows and where training starts:

* after a training run, the trained weights, while `trained.fits(doc)`
  (the pass then runs on standardised validation samples of the training
  data, as training fed them);
* weights loaded with File › Load Weights… or imported from PyTorch, while
  their tensors fit the graph;
* otherwise the initial weights of the step bar's seed (File › Use Initial
  Weights comes back to them).

The newest of these wins, and training starts from it too: a head trained
with frozen layers is fine-tuned from there once they are unfrozen. Opening
another graph forgets them. Load checks the
file against the graph at once and changes nothing when it does not fit (the
loader's message is shown). Save writes the weights step-through would show
now. The file dialogs are `ask_load_path` and `ask_save_path`, replaced in
tests; errors go to the window's `show_error`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from bpviz.graph import build_network
from bpviz.graph.weights import assign_tensors, read_npz, save_weights
from bpviz.ui import templates
from bpviz.ui.stepthrough.sources import DataSource, WeightSource, make_network

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

WEIGHTS_FILTER = "bpviz weights (*.npz);;All files (*)"


class HeldWeights(QObject):
    changed = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.editor = window.editor
        self.panel = window.training_dock.widget()
        self.current: WeightSource | None = None  # the newest: trained, loaded or imported
        self.start: WeightSource | None = None  # loaded or imported (kept after training)
        window.stepping.weight_source = self.source_for
        self.panel.start_weights = self.start_for
        self.panel.weights_trained.connect(lambda _network: self._trained())
        self.editor.document_replaced.connect(self.forget)

    # -- what is used ------------------------------------------------------------
    @property
    def seed(self) -> int:
        return self.window.stepping.bar.seed.value()

    def source_for(self, doc) -> WeightSource | None:
        """The weights step-through uses for `doc` (None: the seed's); loaded and
        imported ones are checked against the graph when the pass is built."""
        current = self.current
        if current is not None and current.kind == "trained":
            trained = self.panel.trained
            return current if trained is not None and trained.fits(doc) else self.start
        return current

    def start_for(self, doc) -> tuple[dict, str] | None:
        """Where training starts: (tensors, label) of the weights step-through uses
        (trained while they fit, else loaded or imported), or None for the seed's."""
        source = self.source_for(doc)
        return (source.tensors, source.label) if source is not None else None

    # -- changes -----------------------------------------------------------------
    def _set(self, current: WeightSource | None, start: WeightSource | None) -> None:
        before = self.source_for(self.editor.doc)
        self.current, self.start = current, start
        if self.source_for(self.editor.doc) is not before:
            self.window.stepping.invalidate()  # the pass showed other weights
        self.changed.emit()

    def forget(self) -> None:
        if self.current is not None or self.start is not None:
            self._set(None, None)

    def set_imported(self, tensors: dict, label: str) -> None:
        source = WeightSource("imported", label, dict(tensors))
        self._set(source, source)

    def _trained(self) -> None:
        trained = self.panel.trained
        config = trained.config
        data = DataSource(config.dataset, config.seed, config.val_fraction, trained.normalizer)
        self._set(WeightSource("trained", "trained weights", trained.tensors(), data),
                  self.start)

    # -- files -------------------------------------------------------------------
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

    def _folder(self) -> str:
        path = self.editor.path
        return str(Path(path).parent) if path else templates.user_folder()

    def _suggestion(self) -> str:
        """"<graph file>.npz" beside the graph; an example's in the user's folder."""
        stem = Path(self.editor.path).stem if self.editor.path else "weights"
        return str(Path(templates.save_folder(self.editor.path)) / f"{stem}.npz")

    def load_dialog(self) -> None:
        path = self.ask_load_path()
        if path:
            self.load(path)

    def load(self, path: str, quiet: bool = False) -> bool:
        """Use the weights in `path` from now on; on any problem nothing changes.
        `quiet`: no status message (the caller writes one)."""
        try:
            network = build_network(self.editor.doc, seed=self.seed)
            given = read_npz(path, "weights")
            assign_tensors(network, given, f"weights file {path}")
        except ValueError as error:  # GraphError, WeightsError, a bad parameter
            self.window.show_error("Cannot load the weights", str(error))
            return False
        source = WeightSource("file", f"weights from {Path(path).name}", given, path=str(path))
        self._set(source, source)
        if not quiet:
            self.window.show_message(f"loaded the weights in {path}: step-through shows "
                                     f"them and training starts from them")
        return True

    def use_initial(self) -> None:
        """Forget trained, loaded or imported weights: the seed's are used again."""
        if self.current is None and self.start is None:
            self.window.show_message(f"already using the initial weights (seed {self.seed})")
            return
        self.forget()
        self.window.show_message(f"using the initial weights (seed {self.seed}): "
                                 f"step-through shows them and training starts from them")

    def save_dialog(self) -> None:
        path = self.ask_save_path()
        if path:
            self.save(path)

    def save(self, path: str) -> str | None:
        """Write the weights step-through would show now (bpviz's .npz layout);
        what they are ("trained weights", …), or None when it failed."""
        try:
            made = make_network(self.editor.doc, self.seed, self.source_for(self.editor.doc))
            save_weights(made.network, path)
        except (ValueError, OSError) as error:
            self.window.show_error("Cannot save the weights", f"{path}: {error}")
            return None
        note = f" ({made.note})" if made.note else ""
        self.window.show_message(f"saved the {made.label} to {path}{note}")
        return made.label
