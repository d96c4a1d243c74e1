"""Which dataset fits a graph's input (what the Training panel suggests for a new graph).

The graph's structure and the trained weights that belong to it are in
bpviz.workspace.trained."""

from __future__ import annotations

from bpviz.data import DATASETS
from bpviz.graph import GraphDocument

NAMED = tuple(DATASETS)
TOY = ("xor", "circles", "moons", "spiral", "blobs")


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
