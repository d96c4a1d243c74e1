"""A graph's geometry without weights: its ops and wiring, for receptive fields.

`geometry_network(doc, report)` is the document's Network with every op
made from its parameters but no weights allocated (no init_params): enough
for the theoretical receptive fields and the nested boxes of
bpviz.engine.receptive, which read only each op's kernel, stride, padding,
dilation and shapes. None when the graph has errors or no input.
"""

from __future__ import annotations

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.graph.document import GraphDocument
from bpviz.graph.shapes import ShapeReport


def geometry_network(doc: GraphDocument, report: ShapeReport) -> Network | None:
    """The document's ops and wires, unweighted; None when it cannot be built."""
    if not doc.nodes or report.errors:
        return None
    if not any(node.op == "input" for node in doc.nodes.values()):
        return None
    try:
        nodes = [doc.nodes[node_id] for node_id in report.order]
        return Network([NodeSpec(node.id, OPS[node.op](**node.params), list(node.inputs))
                        for node in nodes])
    except (ValueError, TypeError, KeyError):
        return None
