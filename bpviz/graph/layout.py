"""A layered left-to-right layout of a graph document (no Qt).

Each node goes into the column of its longest path from a source (its
topological depth); within a column nodes are ordered by the mean row of their
inputs, so wires cross little, and the column is centred on y = 0. Nodes on a
cycle share the depth of their strongly connected component.

Long graphs wrap when asked (`wrap_after`; the canvas passes WRAP_AFTER).
With more columns than that (VGG16, deep residual stacks) the columns are
laid out in several bands, each read left to right
like a line of text, one under the other, so that the whole graph keeps a
screen-like shape and its text stays readable when it is fitted into view.
A band preferably ends where a single tensor leaves it (between two blocks
of a ResNet, where one node's output feeds both the next block and its
skip; not in the middle of a block); the wires that wrap return along the
gap between the bands (the canvas routes them).
"""

from __future__ import annotations

import math

import networkx as nx

from bpviz.graph.document import GraphDocument

COLUMN_GAP = 110.0  # free space between the widest nodes of two columns
ROW_GAP = 50.0  # free space between two nodes of one column
DEFAULT_SIZE = (180.0, 80.0)
WRAP_AFTER = 12  # more columns than this are wrapped into bands
BAND_GAP = 150.0  # free space between two bands (room for the wire that wraps)
MIN_BAND = 6  # columns per band, at least

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
                      column_gap: float = COLUMN_GAP, row_gap: float = ROW_GAP,
                      wrap_after: int | None = None, per_band: int | None = None
                      ) -> dict[str, tuple[float, float]]:
    """id → (x, y) centre of each node: columns by depth, left to right.

    `sizes` gives each node's (width, height) as drawn; DEFAULT_SIZE otherwise.
    Each column is as wide as its widest node and centred on its band's middle
    (y = 0 for the first band). More than `wrap_after` columns (when given)
    are wrapped into bands (see the module docstring); otherwise one row.
    `per_band` (when given) wraps into bands of about that many columns instead.
    """
    sizes = sizes or {}
    columns = columns_by_depth(doc)
    positions: dict[str, tuple[float, float]] = {}
    top = 0.0
    if per_band is not None:
        parts = bands(doc, columns, per_band=per_band)
    else:
        parts = [columns] if wrap_after is None else bands(doc, columns, wrap_after)
    for number, band in enumerate(parts):
        heights = [_column_height(ids, sizes, row_gap) for ids in band]
        half = max(heights) / 2
        middle = 0.0 if number == 0 else top + half
        _place_band(band, sizes, column_gap, row_gap, middle, positions)
        top = middle + half + BAND_GAP
    return positions


def bands(doc: GraphDocument, columns: list[list[str]], wrap_after: int = WRAP_AFTER,
          per_band: int | None = None) -> list[list[list[str]]]:
    """The columns cut into bands of about √(1.2·n) columns (or `per_band`, when
    given: any number, however few the columns), each cut where the fewest tensors
    cross it (nearest the ideal length among those); without `per_band`, one band
    when there are at most `wrap_after` columns."""
    count = len(columns)
    if per_band is None:
        if count <= wrap_after:
            return [columns]
        per_band = max(MIN_BAND, round(math.sqrt(1.2 * count)))
    per_band = max(1, per_band)
    crossing = _crossing_counts(doc, columns)
    result, start = [], 0
    while count - start > per_band * 1.3:
        low, high = start + round(per_band * 0.7), start + round(per_band * 1.3)
        cuts = range(low, min(high, count - 1) + 1)
        end = min(cuts, key=lambda c: (crossing[c - 1], abs(c - start - per_band)))
        result.append(columns[start:end])
        start = end
    result.append(columns[start:])
    return result


def _crossing_counts(doc: GraphDocument, columns: list[list[str]]) -> list[int]:
    """For each gap after column c: how many nodes of columns ≤ c feed columns > c."""
    column_of = {node_id: c for c, ids in enumerate(columns) for node_id in ids}
    sources: list[set[str]] = [set() for _ in columns]
    for node_id, node in doc.nodes.items():
        for src in node.inputs:
            if src in column_of and node_id in column_of:
                for gap in range(column_of[src], column_of[node_id]):
                    sources[gap].add(src)
    return [len(found) for found in sources]


def _column_height(ids: list[str], sizes: dict[str, Size], row_gap: float) -> float:
    return sum(sizes.get(i, DEFAULT_SIZE)[1] for i in ids) + row_gap * (len(ids) - 1)


def _place_band(band: list[list[str]], sizes: dict[str, Size], column_gap: float,
                row_gap: float, middle: float, positions: dict) -> None:
    x = 0.0
    for index, ids in enumerate(band):
        dims = [sizes.get(node_id, DEFAULT_SIZE) for node_id in ids]
        width = max(w for w, _ in dims)
        if index:
            x += width / 2
        y = middle - _column_height(ids, sizes, row_gap) / 2
        for node_id, (_, h) in zip(ids, dims):
            positions[node_id] = (x, y + h / 2)
            y += h + row_gap
        x += width / 2 + column_gap


def _mean_row(doc: GraphDocument, node_id: str, row: dict[str, float]) -> float:
    rows = [row[src] for src in doc.nodes[node_id].inputs if src in row]
    return sum(rows) / len(rows) if rows else 0.0
