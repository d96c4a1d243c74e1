"""The graph document: editing, files, shape inference, limits, building a Network.

Knows nothing of Qt or torch; networkx underneath.
"""

from bpviz.graph.build import build_network, init_scheme
from bpviz.graph.document import GraphDocument, GraphError, NodeData
from bpviz.graph.fileformat import dumps_graph, load_graph, loads_graph, save_graph
from bpviz.graph.limits import MAX_BYTES
from bpviz.graph.shapes import ShapeReport, estimate_bytes, infer_shapes, validate

__all__ = ["MAX_BYTES", "GraphDocument", "GraphError", "NodeData", "ShapeReport",
           "build_network", "dumps_graph", "estimate_bytes", "infer_shapes", "init_scheme",
           "load_graph", "loads_graph", "op_reference_markdown", "save_graph", "validate"]


def __getattr__(name: str):
    # Imported lazily so that `python -m bpviz.graph.reference` runs cleanly.
    if name == "op_reference_markdown":
        from bpviz.graph.reference import op_reference_markdown

        return op_reference_markdown
    raise AttributeError(f"module 'bpviz.graph' has no attribute {name!r}")
