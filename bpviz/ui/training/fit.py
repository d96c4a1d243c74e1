"""What ties a run to a graph: the graph's structure, the trained weights that belong
to it, and the dataset that fits its input.

The weights depend on the structure (nodes, ops, wiring, parameters); which of
them a run updates (the nodes' trainable flags) is part of its `setup` only, so
weights trained with some layers frozen still fit once they are unfrozen."""

from __future__ import annotations

from dataclasses import dataclass

from bpviz.data import DATASETS
from bpviz.graph import GraphDocument
from bpviz.ui.training.worker import TrainConfig

NAMED = tuple(DATASETS)
TOY = ("xor", "circles", "moons", "spiral", "blobs")


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
    config: TrainConfig
    normalizer: object  # bpviz.data.Normalizer: what the inputs were standardised with
    iterations: int

    def fits(self, doc: GraphDocument) -> bool:
        return structure(doc) == structure(self.doc)

    def tensors(self) -> dict:
        """'<node id>/<name>' → a copy of every parameter and buffer."""
        from bpviz.graph.weights import network_tensors

        return {key: value.copy() for key, value in network_tensors(self.network).items()}


def same_kind(a: str, b: str) -> bool:
    """Both are 2-D toy sets."""
    return a in TOY and b in TOY


def suggest_dataset(doc: GraphDocument) -> str | None:
    """A dataset that fits the graph's input: moons for [2], digits for 8×8 images."""
    shapes = [n.params.get("shape") for n in doc.nodes.values() if n.op == "input"]
    if len(shapes) != 1 or not isinstance(shapes[0], list):
        return None
    shape = shapes[0]
    if shape == [2]:
        return "moons"
    if shape in ([1, 8, 8], [64]):
        return "digits"
    if len(shape) == 3 and shape[0] == 1 and shape[1] == shape[2] and 8 <= shape[1] <= 128:
        return "shapes"
    return None
