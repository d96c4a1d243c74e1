"""Theoretical receptive fields, relative to the graph's input.

For a node with effective kernel k = d(k0 − 1) + 1, stride s and padding p fed
by a field of size r, jump (effective stride) j and effective padding q:

    r' = r + (k − 1) j,    j' = j s,    q' = q + p j

An input node has r = 1, j = 1, q = 0. Pointwise ops keep the field. Where
branches meet (add, concat) the largest field wins. Ops whose output is no
longer spatial (flatten, dense, global pooling, losses) have no field (None),
and neither has anything after them. All values are (h, w) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from bpviz.engine.executor import NodeSpec, topological_order


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
