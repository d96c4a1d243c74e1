"""What ties trained weights to a graph: the graph's structure and the weights' record.

The weights depend on the structure (nodes, ops, wiring, parameters); which of
them a run updates (the nodes' trainable flags) is part of its `setup` only, so
weights trained with some layers frozen still fit once they are unfrozen."""

from __future__ import annotations

from dataclasses import dataclass

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

    def fits(self, doc: GraphDocument) -> bool:
        return structure(doc) == structure(self.doc)

    def tensors(self) -> dict:
        """'<node id>/<name>' → a copy of every parameter and buffer."""
        from bpviz.graph.weights import network_tensors

        return {key: value.copy() for key, value in network_tensors(self.network).items()}
