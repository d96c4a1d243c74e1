"""The weights the workspace holds: the seed's, trained, loaded from a file, or imported.

HeldWeights decides what step-through shows and where training starts:

* after a training run, the trained weights, while `trained.fits(doc)`
  (the pass then runs on standardised validation samples of the training
  data, as training fed them);
* weights loaded with File › Load Weights… or imported from PyTorch, while
  their tensors fit the graph;
* otherwise the initial weights of the step settings' seed (File › Use
  Initial Weights comes back to them).

The newest of these wins, and training starts from it too: a head trained
with frozen layers is fine-tuned from there once they are unfrozen. Opening
another graph forgets them. Load checks the
file against the graph at once and changes nothing when it does not fit
(ValueError with the loader's message). Renaming a node carries every held
weight and optimizer state to the new id (`node_renamed`); an edit that
makes the weights in use stop fitting (or fit again) says so: "weights_changed"
with `dropped`, the source no longer used (None when one came back). Save
writes the weights step-through would show now and remembers them:
`unsaved_trained` says that trained weights were never written to a file
(the window asks before they go). A change of
the weights in use drops the pass (it showed other weights); every change emits "weights_changed".
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from bpviz.graph import build_network
from bpviz.graph.weights import assign_tensors, read_npz, save_weights
from bpviz.workspace.sources import DataSource, Made, WeightSource, make_network
from bpviz.workspace.trained import TrainedWeights, renamed_keys

if TYPE_CHECKING:
    from bpviz.workspace.workspace import Workspace


class HeldWeights:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.current: WeightSource | None = None  # the newest: trained, loaded or imported
        self.start: WeightSource | None = None  # loaded or imported (kept after training)
        self.saved: WeightSource | None = None  # the weights last written to a file
        self._shown: WeightSource | None = None  # in_use as last announced

    # -- what is used ------------------------------------------------------------
    @property
    def in_use(self) -> WeightSource | None:
        """The weights step-through uses for the workspace's document (None: the seed's)."""
        return self.source_for(self.workspace.doc)

    def source_for(self, doc) -> WeightSource | None:
        """The weights step-through uses for `doc` (None: the seed's); loaded and
        imported ones are checked against the graph when the pass is built."""
        current = self.current
        if current is not None and current.kind == "trained":
            trained = self.workspace.training.trained
            return current if trained is not None and trained.fits(doc) else self.start
        return current

    def start_for(self, doc) -> tuple[dict, str] | None:
        """Where training starts: (tensors, label) of the weights step-through uses
        (trained while they fit, else loaded or imported), or None for the seed's."""
        source = self.source_for(doc)
        return (source.tensors, source.label) if source is not None else None

    @property
    def held(self) -> bool:
        """Weights other than the seed's are held (they may not fit the graph)."""
        return self.current is not None or self.start is not None

    @property
    def unsaved_trained(self) -> bool:
        """Step-through shows trained weights that were never saved to a file."""
        source = self.in_use
        return source is not None and source.kind == "trained" and source is not self.saved

    # -- changes -----------------------------------------------------------------
    def _set(self, current: WeightSource | None, start: WeightSource | None) -> None:
        workspace = self.workspace
        before = self.source_for(workspace.doc)
        self.current, self.start = current, start
        self._shown = self.source_for(workspace.doc)
        if self._shown is not before:
            workspace.drop_pass()  # the pass showed other weights
        workspace.emit("weights_changed", source=self._shown)

    def graph_edited(self) -> None:
        """After an edit: say when the weights in use stopped fitting, or fit again."""
        before, now = self._shown, self.in_use
        if now is before:
            return
        self._shown = now
        back = now is not None and now.kind == "trained"  # the trained weights fit again
        self.workspace.emit("weights_changed", source=now, dropped=None if back else before)

    def node_renamed(self, old: str, new: str) -> None:
        """Node `old` is called `new` now: the weights and optimizer state held for it
        follow it (a source without any of its tensors stays the same object, so a
        saved one stays saved)."""
        training = self.workspace.training
        if training.trained is not None:
            training.trained = training.trained.renamed(old, new)
        moved: dict[int, WeightSource] = {}

        def carried(source: WeightSource | None) -> WeightSource | None:
            if source is None:
                return None
            if id(source) not in moved:
                moved[id(source)] = _renamed_source(source, old, new)
            return moved[id(source)]

        self.current, self.start, self.saved = (carried(self.current), carried(self.start),
                                                carried(self.saved))
        self._shown = carried(self._shown)

    def forget(self) -> None:
        if self.held:
            self._set(None, None)

    def set_imported(self, tensors: dict, label: str) -> None:
        source = WeightSource("imported", label, dict(tensors))
        self._set(source, source)

    def set_trained(self, trained: TrainedWeights) -> None:
        """A training run ended with `trained`: use them from now on."""
        config = trained.config
        data = DataSource(config.dataset, config.seed, config.val_fraction, trained.normalizer)
        self._set(WeightSource("trained", "trained weights", trained.tensors(), data,
                               optimizer=getattr(config, "optimizer", ""),
                               optimizer_state=trained.optimizer_state,
                               iterations=trained.iterations),
                  self.start)

    # -- files -------------------------------------------------------------------
    def load(self, path: str) -> WeightSource:
        """Use the weights in `path` from now on; ValueError (the loader's message, and
        nothing changes) when the file cannot be read or does not fit the graph."""
        network = build_network(self.workspace.doc, seed=self.workspace.settings.seed)
        given = read_npz(path, "weights")
        assign_tensors(network, given, f"weights file {path}")
        source = WeightSource("file", f"weights from {Path(path).name}", given,
                              path=str(path))
        self._set(source, source)
        return source

    def network(self) -> Made:
        """The network with the weights step-through would show now (ValueError when
        the graph cannot be built)."""
        workspace = self.workspace
        return make_network(workspace.doc, workspace.settings.seed, self.in_use)

    def save(self, path: str) -> Made:
        """Write the weights step-through would show now (bpviz's .npz layout);
        ValueError or OSError when it fails."""
        source, made = self.in_use, self.network()
        save_weights(made.network, path)
        self.saved = source
        return made


def _renamed_source(source: WeightSource, old: str, new: str) -> WeightSource:
    tensors = renamed_keys(source.tensors, {old: new})
    state = source.optimizer_state
    if state is not None:
        state = {((new if node_id == old else node_id), name): slot
                 for (node_id, name), slot in state.items()}
    if tensors.keys() == source.tensors.keys() and (
            state is None or state.keys() == source.optimizer_state.keys()):
        return source
    return replace(source, tensors=tensors, optimizer_state=state)
