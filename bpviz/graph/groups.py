"""What a group of nodes amounts to: its inputs and outputs, parameters and receptive field.

A folded group is drawn as one box (the canvas, the exports); `summarise`
gives what the box says, from the document and its ShapeReport; `folded_view`
is the stand-in document the canvas and the slide layout arrange, a folded
group one node. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bpviz.engine import OPS
from bpviz.engine.executor import NodeSpec
from bpviz.engine.receptive import ReceptiveField, receptive_fields
from bpviz.graph.document import GraphDocument, NodeData
from bpviz.graph.shapes import Shape, ShapeReport


@dataclass
class GroupSummary:
    """`sources`: nodes outside the group that feed it, in first-use order;
    `outputs`: its nodes read from outside (or by nobody), in file order."""

    name: str
    members: list[str]
    sources: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    in_shapes: list[Shape | None] = field(default_factory=list)
    out_shapes: list[Shape | None] = field(default_factory=list)
    params: int = 0
    receptive_field: ReceptiveField | None = None
    errors: int = 0


def folded_groups(doc: GraphDocument) -> dict[str, str]:
    """node id → name of its group, for the nodes of folded groups."""
    return {node.id: node.group for node in doc.nodes.values()
            if node.group is not None and node.group in doc.groups
            and doc.groups[node.group].folded}


BOX_KEY = "⊞ "  # a folded group's id in the stand-in document of a layout


def folded_view(doc: GraphDocument) -> tuple[GraphDocument, dict[str, str]]:
    """A stand-in document for laying out the picture with its folded groups: each
    folded group one node (id BOX_KEY + name) wired as the group is; and node id →
    id in the stand-in. Without folded groups, `doc` itself."""
    folded = folded_groups(doc)
    if not folded:
        return doc, {node_id: node_id for node_id in doc.nodes}
    key = {node_id: BOX_KEY + folded[node_id] if node_id in folded else node_id
           for node_id in doc.nodes}
    stand_in: dict[str, NodeData] = {}
    for node in doc.nodes.values():
        entry = stand_in.setdefault(key[node.id], NodeData(key[node.id], node.op))
        for src in node.inputs:
            if src in key and key[src] != entry.id and key[src] not in entry.inputs:
                entry.inputs.append(key[src])
    return GraphDocument("", list(stand_in.values())), key


def fields_of(doc: GraphDocument, report: ShapeReport) -> dict[str, ReceptiveField | None]:
    """Every sound node's receptive field (nodes in error, and those after them, have none)."""
    specs, sound = [], set()
    for node_id in report.order:
        node = doc.nodes.get(node_id)
        if node is None or node_id in report.errors or node.op not in OPS \
                or any(src not in sound for src in node.inputs):
            continue
        try:
            op = OPS[node.op](**node.params)
        except (TypeError, ValueError):
            continue
        specs.append(NodeSpec(node_id, op, list(node.inputs)))
        sound.add(node_id)
    return receptive_fields(specs) if specs else {}


def summarise(doc: GraphDocument, report: ShapeReport, name: str,
              fields: dict[str, ReceptiveField | None] | None = None) -> GroupSummary:
    members = doc.group_members(name)
    inside = set(members)
    summary = GroupSummary(name, members)
    read_outside: set[str] = set()
    read_at_all: set[str] = set()
    for node in doc.nodes.values():
        for src in node.inputs:
            read_at_all.add(src)
            if node.id in inside and src not in inside and src in doc.nodes \
                    and src not in summary.sources:
                summary.sources.append(src)
            if node.id not in inside and src in inside:
                read_outside.add(src)
    summary.outputs = [m for m in members if m in read_outside or m not in read_at_all]
    summary.in_shapes = [report.shapes.get(src) for src in summary.sources]
    summary.out_shapes = [report.shapes.get(out) for out in summary.outputs]
    summary.params = sum(report.param_counts.get(m, 0) for m in members)
    summary.errors = sum(m in report.errors for m in members)
    fields = fields_of(doc, report) if fields is None else fields
    known = [fields.get(out) for out in summary.outputs if fields.get(out) is not None]
    if known:
        summary.receptive_field = max(known, key=lambda f: (f.size[0] * f.size[1], f.size))
    return summary

