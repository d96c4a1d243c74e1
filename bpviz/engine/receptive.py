"""Theoretical receptive fields, relative to the graph's input.

For a node with effective kernel k = d(k0 − 1) + 1, stride s and padding p fed
by a field of size r, jump (effective stride) j and effective padding q:

    r' = r + (k − 1) j,    j' = j s,    q' = q + p j

An input node has r = 1, j = 1, q = 0. Pointwise ops keep the field. Where
branches meet (add, concat) the largest field wins. Ops whose output is no
longer spatial (flatten, dense, global pooling, losses) have no field (None),
and neither has anything after them. All values are (h, w) pairs.

Nested boxes (`nested_boxes`): for one unit of a node, the fields of the
units at the centre of what it sees in every conv and pool layer on its way
from the input, as the lecture draws the dilated stack: 3×3 inside 7×7
inside 15×15.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bpviz.engine.executor import Network, NodeSpec, topological_order


@dataclass(frozen=True)
class ReceptiveField:
    size: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]

    def as_dict(self) -> dict[str, list[int]]:
        return {"size": list(self.size), "stride": list(self.stride),
                "padding": list(self.padding)}


INPUT_FIELD = ReceptiveField((1, 1), (1, 1), (0, 0))


def grow(field: ReceptiveField, kernel, stride, padding) -> ReceptiveField:
    """The field after one layer of the given (h, w) kernel, stride and padding."""
    size = tuple(r + (k - 1) * j for r, k, j in zip(field.size, kernel, field.stride))
    jump = tuple(j * s for j, s in zip(field.stride, stride))
    pad = tuple(q + p * j for q, p, j in zip(field.padding, padding, field.stride))
    return ReceptiveField(size, jump, pad)


def receptive_fields(nodes: list[NodeSpec]) -> dict[str, ReceptiveField | None]:
    """Every node's field; ops need no parameters for this (no weights allocated)."""
    fields: dict[str, ReceptiveField | None] = {}
    for node in topological_order(nodes):
        if node.op.op_name == "input":
            fields[node.id] = INPUT_FIELD if len(node.op.hp["shape"]) == 3 else None
            continue
        incoming = [fields[source] for source in node.inputs]
        geometry = node.op.geometry()
        if geometry is None or not incoming or any(f is None for f in incoming):
            fields[node.id] = None
            continue
        # NOTE: where branches meet, the largest field is the one that matters.
        widest = max(incoming, key=lambda f: (f.size[0] * f.size[1], f.size))
        fields[node.id] = grow(widest, *geometry)
    return fields


# -- nested boxes ------------------------------------------------------------------
IDENTITY = ((1, 1), (1, 1), (0, 0))  # a pointwise op's geometry: the field stays


@dataclass(frozen=True)
class NestedBox:
    """The theoretical field of one unit of one conv or pool layer, in input pixels.

    unit: (i, j) in the layer's output; size: the whole field (the label,
    e.g. 15×15); box: (top, left, height, width) clipped to the image.
    """

    node: str
    unit: tuple[int, int]
    size: tuple[int, int]
    box: tuple[int, int, int, int]


def field_box(field: ReceptiveField, i: int, j: int,
              image: tuple[int, int]) -> tuple[int, int, int, int]:
    """(top, left, height, width) of unit (i, j)'s field in input pixels, clipped to `image`."""
    top = i * field.stride[0] - field.padding[0]
    left = j * field.stride[1] - field.padding[1]
    bottom, right = top + field.size[0], left + field.size[1]
    top, left = max(top, 0), max(left, 0)
    bottom, right = min(bottom, image[0]), min(right, image[1])
    return top, left, max(bottom - top, 0), max(right - left, 0)


def field_layers(network: Network, node_id: str) -> list[str]:
    """The conv and pool layers that make `node_id`'s field, from the input on.

    Where branches meet, the branch with the largest field (the one the field
    comes from); layers that leave the field as it is (pointwise ops, 1×1
    convolutions of stride 1) are left out. Empty when the node has no field.
    """
    fields = receptive_fields(network.order)
    if fields.get(node_id) is None:
        return []
    layers = []
    current = network.nodes[node_id]
    while current.inputs:
        if tuple(current.op.geometry()) != IDENTITY:
            layers.append(current.id)
        current = network.nodes[max(current.inputs, key=lambda source: _width(fields[source]))]
    return layers[::-1]


def _width(field: ReceptiveField) -> tuple:
    return field.size[0] * field.size[1], field.size


def nested_boxes(network: Network, node_id: str, i: int, j: int) -> list[NestedBox]:
    """The fields of unit (i, j) of `node_id`, as seen through every conv and pool
    layer up to it, smallest first (the dilated stack: 3×3, 7×7 and 15×15).

    At each layer the unit is the one at the centre of what (i, j) sees of
    that layer's output (the same (i, j) when nothing on the way has a
    stride), so the boxes nest around one point. Boxes are clipped to the
    image; ValueError when the node has no spatial field or (i, j) is outside
    its output.
    """
    fields = receptive_fields(network.order)
    field = fields.get(node_id)
    if field is None:
        raise ValueError(f"node '{node_id}' has no spatial receptive field")
    shapes = spatial_shapes(network)
    height, width = shapes[node_id]
    if not (0 <= i < height and 0 <= j < width):
        raise ValueError(f"unit ({i}, {j}) is outside the {height}×{width} output "
                         f"of '{node_id}'")
    layers = field_layers(network, node_id)
    source = field_input(network, layers[0] if layers else node_id, fields)
    image = shapes[source]
    centre = [(unit * jump - pad) + (size - 1) / 2
              for unit, jump, pad, size in zip((i, j), field.stride, field.padding, field.size)]
    boxes = []
    for layer in layers:
        own = fields[layer]
        unit = tuple(min(max(math.floor((c + pad - (size - 1) / 2) / jump + 0.5), 0), last - 1)
                     for c, pad, size, jump, last in zip(centre, own.padding, own.size,
                                                         own.stride, shapes[layer]))
        boxes.append(NestedBox(layer, unit, own.size, field_box(own, *unit, image)))
    return boxes


def field_input(network: Network, node_id: str, fields=None) -> str:
    """The input node the field of `node_id` is measured on (its widest branch's)."""
    fields = fields or receptive_fields(network.order)
    current = network.nodes[node_id]
    while current.inputs:
        current = network.nodes[max(current.inputs, key=lambda source: _width(fields[source]))]
    return current.id


def per_sample_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """Every node's output shape without the batch axis, from the inputs' shapes."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in network.order:
        if node.op.op_name == "input":
            shapes[node.id] = tuple(node.op.hp["shape"])
        else:
            shapes[node.id] = tuple(node.op.infer_shape([shapes[s] for s in node.inputs]))
    return shapes


def spatial_shapes(network: Network) -> dict[str, tuple[int, int]]:
    """(H, W) of every node whose per-sample output is [C, H, W], from the inputs' shapes."""
    return {node: shape[1:] for node, shape in per_sample_shapes(network).items()
            if len(shape) == 3}
