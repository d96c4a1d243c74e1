"""What the TikZ picture draws, as the canvas does: an item per shown node or folded group.

`drawn_items` turns a document into the items and wires of its picture: a
node outside folded groups is its own item; a folded group is one item (id
BOX_KEY + its name, as in bpviz.graph.groups.folded_view) whose box gives its
summary. Wires inside a folded group are not drawn; a wire into a group
enters the box's port for its source (one per source: a residual block reads
its input for its convolution and its shortcut, the box shows one wire).
Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bpviz.graph import GraphDocument, ShapeReport
from bpviz.graph.groups import (
    GroupSummary,
    fields_of,
    folded_groups,
    folded_view,
    summarise,
)

GROUP_HUE = "#6a5acd"  # a folded group's colour, as on the canvas


@dataclass
class DrawnWire:
    source: str  # item ids
    consumer: str
    port: int  # the consumer item's input port
    ports: int  # how many input ports the consumer item has
    key: tuple[str, str, int]  # the document's wire: (source, consumer, port)
    concat: bool = False  # into a concat node (drawn dotted)


@dataclass
class DrawnItems:
    view: GraphDocument  # one node per item, wired as the items are (for the layout)
    item_of: dict[str, str]  # node id → id of the item that shows it
    boxes: dict[str, GroupSummary] = field(default_factory=dict)  # item id → its group
    wires: list[DrawnWire] = field(default_factory=list)


def drawn_items(doc: GraphDocument, report: ShapeReport, fold: bool = True) -> DrawnItems:
    """The items and wires of `doc`'s picture; `fold=False` draws every node."""
    if fold:
        view, item_of = folded_view(doc)
        folded = {item_of[node_id] for node_id in folded_groups(doc)}
    else:
        view, item_of, folded = doc, {node_id: node_id for node_id in doc.nodes}, set()
    fields = fields_of(doc, report) if folded else {}
    names = {item_of[node_id]: name for node_id, name in folded_groups(doc).items()}
    drawn = DrawnItems(view, item_of, {item: summarise(doc, report, names[item], fields)
                                       for item in view.nodes if item in folded})
    seen: set[tuple[str, str, int]] = set()
    for consumer, node in doc.nodes.items():
        for port, source in enumerate(node.inputs):
            if source not in doc.nodes:
                continue
            src_item, dst_item = item_of[source], item_of[consumer]
            if src_item == dst_item and src_item in drawn.boxes:
                continue  # inside a folded group
            if dst_item in drawn.boxes:
                sources = drawn.boxes[dst_item].sources
                end, ports = sources.index(source), len(sources)
            else:
                end, ports = port, len(node.inputs)
            if (src_item, dst_item, end) in seen:
                continue
            seen.add((src_item, dst_item, end))
            drawn.wires.append(DrawnWire(src_item, dst_item, end, ports,
                                         (source, consumer, port),
                                         node.op == "concat" and dst_item not in drawn.boxes))
    return drawn
