"""What ties trained weights to a graph: the graph's structure and the weights' record.

The weights depend on the structure (nodes, ops, wiring, parameters); which of
them a run updates (the nodes' trainable flags) is part of its `setup` only, so
weights trained with some layers frozen still fit once they are unfrozen."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from bpviz.graph import GraphDocument


def structure(doc: GraphDocument) -> list[tuple]:
    """What the weights depend on: nodes, ops, wiring, parameters (not positions, and
    not the trainable flags: they change which weights update, not their shapes)."""
    return [(n.id, n.op, tuple(n.inputs), repr(sorted(n.params.items())))
            for n in doc.nodes.values()]


def setup(doc: GraphDocument) -> list[tuple]:
    """What a run trains: the structure and which nodes it updates."""
    return structure(doc) + [tuple(n.id for n in doc.nodes.values() if not n.trainable)]


@dataclass(frozen=True)
class TrainedWeights:
    """A trained network and the graph, data and settings it was trained with."""

    network: object  # bpviz.engine.Network
    doc: GraphDocument  # the copy taken at Train
    config: object  # the run's TrainConfig: dataset, seed, val_fraction, …
    normalizer: object  # bpviz.data.Normalizer: what the inputs were standardised with
    iterations: int
    optimizer_state: dict | None = None  # the run's optimizer state at the end (snapshot())
    names: dict = field(default_factory=dict)  # network node id → its id now, when renamed

    def fits(self, doc: GraphDocument) -> bool:
        return structure(doc) == structure(self.doc)

    def tensors(self) -> dict:
        """'<node id>/<name>' → a copy of every parameter and buffer (ids as the graph
        calls the nodes now)."""
        from bpviz.graph.weights import network_tensors

        return renamed_keys({key: value.copy()
                             for key, value in network_tensors(self.network).items()},
                            self.names)

    def renamed(self, old: str, new: str) -> TrainedWeights:
        """The same weights and optimizer state after the graph's node `old` became `new`."""
        if old not in self.doc.nodes or old == new:
            return self
        doc = self.doc.copy()
        doc.rename(old, new)
        names = {node_id: self.names.get(node_id, node_id) for node_id in self.network.nodes}
        names = {node_id: (new if now == old else now) for node_id, now in names.items()}
        state = self.optimizer_state
        if state is not None:
            state = {((new if node_id == old else node_id), name): slot
                     for (node_id, name), slot in state.items()}
        return replace(self, doc=doc, optimizer_state=state,
                       names={key: now for key, now in names.items() if key != now})


def renamed_keys(tensors: dict, names: dict) -> dict:
    """'<node id>/<name>' keys with the node ids in `names` replaced (old → new)."""
    if not names:
        return tensors
    out = {}
    for key, value in tensors.items():
        node_id, slash, name = key.rpartition("/")
        out[f"{names.get(node_id, node_id)}{slash}{name}"] = value
    return out


def what_changed(then: GraphDocument, now: GraphDocument) -> str:
    """The first difference between two graphs' structures, in words ("'fc' changed")."""
    before = {entry[0]: entry for entry in structure(then)}
    after = {entry[0]: entry for entry in structure(now)}
    for node_id, entry in after.items():
        if node_id in before and before[node_id] != entry:
            return f"'{node_id}' changed"
    added = [node_id for node_id in after if node_id not in before]
    removed = [node_id for node_id in before if node_id not in after]
    if removed:
        return f"'{removed[0]}' was removed"
    if added:
        return f"'{added[0]}' was added"
    return "the graph changed"
