"""Where the nodes of a graph figure go: as on the canvas, or wrapped to fit a slide.

Layouts (`LAYOUTS`):
  canvas  the canvas's own positions (the document's, else its layered layout);
  slide   the columns of the layered layout (bpviz.graph.layout) re-cut into
          rows, read left to right like lines of text, the wires that wrap
          returning between the rows as the canvas draws them for long graphs.
          The number of columns per row is the one whose picture comes closest
          to the aspect ratio asked for (16:9 unless told otherwise);
  auto    slide when the canvas's picture is more than AUTO_WIDER_THAN times as
          wide as it is high (one long row, useless on a slide), else canvas.

Only positions are computed here (no Qt): `slide_arrangements` gives every
distinct way of cutting the columns into rows, `closest_to` picks the one
whose measured size is nearest the aspect (compared on a log scale, so 2:1
and 8:9 count as equally far from 16:9). The figure measures each with the
scene's real routing (bpviz.export.figure); TikZ estimates from the boxes.
The user's document is never moved: the figures work on a copy.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from bpviz.export.base import ExportError
from bpviz.graph import GraphDocument
from bpviz.graph.groups import folded_view
from bpviz.graph.layout import DEFAULT_SIZE, columns_by_depth, layered_positions

LAYOUTS = ("auto", "canvas", "slide")
SLIDE_ASPECT = 16 / 9
AUTO_WIDER_THAN = 3.0
ASPECT_RANGE = (0.25, 8.0)

Positions = dict[str, tuple[float, float]]
Sizes = dict[str, tuple[float, float]]


class LayoutError(ExportError):
    """A layout or aspect ratio that cannot be used."""


def check_layout(layout: str) -> str:
    if layout not in LAYOUTS:
        raise LayoutError(f"unknown layout {layout!r} (layouts: {', '.join(LAYOUTS)})")
    return layout


def parse_aspect(text: str | float) -> float:
    """'16:9', '4:3', '1.6' … → width / height (LayoutError when not a sensible ratio)."""
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        parts = str(text).strip().split(":")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise LayoutError(f"expected an aspect ratio like 16:9 or 1.6, got {text!r}") \
                from None
        if len(numbers) > 2 or (len(numbers) == 2 and numbers[1] <= 0):
            raise LayoutError(f"expected an aspect ratio like 16:9 or 1.6, got {text!r}")
        value = numbers[0] / numbers[1] if len(numbers) == 2 else numbers[0]
    low, high = ASPECT_RANGE
    if not (math.isfinite(value) and low <= value <= high):
        raise LayoutError(f"the aspect ratio must lie between {low:g} and {high:g} "
                          f"(width / height), got {text}")
    return value


def wants_slide(layout: str, width: float, height: float) -> bool:
    """Whether `layout` re-lays out a picture that is width × height on the canvas."""
    check_layout(layout)
    if layout == "auto":
        return width > AUTO_WIDER_THAN * max(height, 1.0)
    return layout == "slide"


def slide_arrangements(doc: GraphDocument, sizes: Sizes | None = None,
                       fold: bool = True) -> list[Positions]:
    """The layered layout's columns cut into 1, 2, 3 … rows of about equal length
    (no short last row), each distinct cut once: one row of all columns first.
    With `fold`, a folded group takes the room of its box (its nodes all at its place)."""
    view, view_id = folded_view(doc) if fold else (doc, {i: i for i in doc.nodes})
    count = len(columns_by_depth(view)) if view.nodes else 0
    found: list[Positions] = []
    seen: set[tuple] = set()
    for rows in range(1, max(count, 1) + 1):
        placed = layered_positions(view, sizes, per_band=math.ceil(count / rows))
        positions = {node_id: placed[view_id[node_id]] for node_id in doc.nodes}
        rows = tuple(sorted({round(y) for _, y in positions.values()}))
        key = (rows, tuple(sorted(positions.items())))
        if key not in seen:
            seen.add(key)
            found.append(positions)
    return found


def box_size(positions: Positions, sizes: Sizes | None = None,
             margin: tuple[float, float] = (0.0, 0.0)) -> tuple[float, float]:
    """Width and height of the nodes' boxes at `positions`, plus `margin` (x, y)."""
    sizes = sizes or {}
    if not positions:
        return margin
    lefts, rights, tops, bottoms = [], [], [], []
    for node_id, (x, y) in positions.items():
        width, height = sizes.get(node_id, DEFAULT_SIZE)
        lefts.append(x - width / 2)
        rights.append(x + width / 2)
        tops.append(y - height / 2)
        bottoms.append(y + height / 2)
    return (max(rights) - min(lefts) + margin[0], max(bottoms) - min(tops) + margin[1])


def aspect_distance(width: float, height: float, aspect: float) -> float:
    """How far width / height lies from `aspect`, on a log scale."""
    return abs(math.log(max(width, 1.0) / max(height, 1.0) / aspect))


def closest_to(arrangements: list[Positions], aspect: float,
               measure: Callable[[Positions], tuple[float, float]]) -> Positions:
    """The arrangement whose measured (width, height) comes nearest `aspect`; of two
    equally near, the one with fewer rows (listed first)."""
    return min(arrangements, key=lambda positions: aspect_distance(*measure(positions), aspect))
