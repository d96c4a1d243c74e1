"""A layered left-to-right layout of a graph document (no Qt).

Each node goes into the column of its longest path from a source (its
topological depth); within a column nodes are ordered by the mean row of their
inputs, so wires cross little, and the column is centred on y = 0. Nodes on a
cycle share the depth of their strongly connected component.
"""

from __future__ import annotations

import networkx as nx

from bpviz.graph.document import GraphDocument

COLUMN_GAP = 110.0  # free space between the widest nodes of two columns
ROW_GAP = 50.0  # free space between two nodes of one column
DEFAULT_SIZE = (180.0, 80.0)

Size = tuple[float, float]


def depths(doc: GraphDocument) -> dict[str, int]:
    """id → length of the longest wire path from a source to the node."""
    graph = doc.to_networkx()
    condensed = nx.condensation(graph)
    level: dict[int, int] = {}
    for component in nx.topological_sort(condensed):
        preds = list(condensed.predecessors(component))
        level[component] = 1 + max(level[p] for p in preds) if preds else 0
    mapping = condensed.graph["mapping"]
    return {node_id: level[mapping[node_id]] for node_id in doc.nodes}


def columns_by_depth(doc: GraphDocument) -> list[list[str]]:
    """Ids per column, each column ordered by the mean row of its nodes' inputs."""
    depth = depths(doc)
    columns: dict[int, list[str]] = {}
    for node_id in doc.nodes:  # file order breaks ties
        columns.setdefault(depth[node_id], []).append(node_id)
    row: dict[str, float] = {}
    result = []
    for level in sorted(columns):
        ids = columns[level]
        if level:
            ids = sorted(ids, key=lambda node_id: _mean_row(doc, node_id, row))
        for index, node_id in enumerate(ids):
            row[node_id] = index - (len(ids) - 1) / 2
        result.append(ids)
    return result


def layered_positions(doc: GraphDocument, sizes: dict[str, Size] | None = None,
                      column_gap: float = COLUMN_GAP, row_gap: float = ROW_GAP
                      ) -> dict[str, tuple[float, float]]:
    """id → (x, y) centre of each node: columns by depth, left to right.

    `sizes` gives each node's (width, height) as drawn; DEFAULT_SIZE otherwise.
    Each column is as wide as its widest node and centred on y = 0.
    """
    sizes = sizes or {}
    positions: dict[str, tuple[float, float]] = {}
    x = 0.0
    for index, ids in enumerate(columns_by_depth(doc)):
        dims = [sizes.get(node_id, DEFAULT_SIZE) for node_id in ids]
        width = max(w for w, _ in dims)
        if index:
            x += width / 2
        total = sum(h for _, h in dims) + row_gap * (len(ids) - 1)
        y = -total / 2
        for node_id, (_, h) in zip(ids, dims):
            positions[node_id] = (x, y + h / 2)
            y += h + row_gap
        x += width / 2 + column_gap
    return positions


def _mean_row(doc: GraphDocument, node_id: str, row: dict[str, float]) -> float:
    rows = [row[src] for src in doc.nodes[node_id].inputs if src in row]
    return sum(rows) / len(rows) if rows else 0.0
