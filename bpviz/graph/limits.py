"""Size limits and the memory estimate, computed from shapes alone.

The shapes come from bpviz.graph.shapes (whose `estimate_bytes(doc)` infers
them and asks this module). `validate` and `build_network` refuse a graph
whose estimate exceeds MAX_BYTES before a single array is allocated. All
arithmetic uses Python ints, so absurd shapes cannot overflow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from bpviz.graph.document import GraphDocument, GraphError

if TYPE_CHECKING:
    from bpviz.graph.shapes import ShapeReport

MAX_BYTES = 4 * 2**30
"""Parameters + buffers + activations for one sample."""
MAX_ELEMENTS = MAX_BYTES // 4
"""One tensor with more values than this cannot fit even in float32."""
MAX_FILE_BYTES = 20 * 2**20
MAX_NODES = 10_000


def numel(shape: tuple[int, ...] | list[int]) -> int:
    return math.prod(int(d) for d in shape)


def node_elements(report: ShapeReport, node_id: str) -> int:
    """Parameters + buffers + activation values of one node for one sample."""
    shape = report.shapes.get(node_id)
    activations = numel(shape) if shape is not None else 0
    return activations + report.param_counts.get(node_id, 0) + report.buffer_counts.get(node_id, 0)


def report_bytes(report: ShapeReport, dtype=np.float64) -> int:
    itemsize = np.dtype(dtype).itemsize
    return sum(node_elements(report, node_id) for node_id in report.shapes) * itemsize


def format_bytes(count: int) -> str:
    if count >= 2**40:
        return f"{count >> 30:,} GiB"
    if count >= 2**30:
        return f"{count / 2**30:.2f} GiB"
    if count >= 2**20:
        return f"{count / 2**20:.1f} MiB"
    return f"{count / 2**10:.1f} KiB"


def check_memory(doc: GraphDocument, report: ShapeReport, dtype=np.float64) -> None:
    """Raise GraphError when the estimate exceeds MAX_BYTES."""
    total = report_bytes(report, dtype)
    if total <= MAX_BYTES:
        return
    itemsize = np.dtype(dtype).itemsize
    largest = max(report.shapes, key=lambda node_id: node_elements(report, node_id))
    node = doc.nodes[largest]
    raise GraphError(
        f"the graph needs about {format_bytes(total)} for one sample (parameters, buffers "
        f"and activations in {np.dtype(dtype).name}), more than the limit of "
        f"{format_bytes(MAX_BYTES)}; the largest node is {node.op} '{largest}' with "
        f"{format_bytes(node_elements(report, largest) * itemsize)}")
