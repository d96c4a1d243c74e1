"""Where the wires' shape labels go: on their wire, clear of each other, of ports and nodes (no Qt).

Each wire offers places for its label, best first (the middle of the wire,
then further along it either way, then just above or below it). `place`
gives every label the first of its places that overlaps no port, no node and
no label placed before it; wires with little room to choose from (the
shortest) choose first. A label with no free place at all takes the place
it overlaps least, covering a port last.

Plain floats and tuples: the canvas places every label after each routing
and each step of a pass, so a grid of cells keeps each test to the few
rects nearby.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # left, top, right, bottom

CELL = 160.0
PORT_WEIGHT = 50.0  # covering a port is this much worse than covering the same area of label


@dataclass
class LabelAsk:
    key: object
    size: tuple[float, float]  # width, height
    spread: float  # how far apart its places lie (little spread, little choice)
    centres: Iterable[Point]  # the places the wire offers, best first (read lazily)


class RectGrid:
    """Rects filed by the CELL × CELL squares they touch, for overlap queries."""

    def __init__(self) -> None:
        self.cells: dict[tuple[int, int], list[tuple[Rect, float]]] = {}

    @staticmethod
    def _span(rect: Rect):
        left, top, right, bottom = rect
        for column in range(int(left // CELL), int(right // CELL) + 1):
            for row in range(int(top // CELL), int(bottom // CELL) + 1):
                yield column, row

    def add(self, rect: Rect, weight: float = 1.0) -> None:
        for cell in self._span(rect):
            self.cells.setdefault(cell, []).append((rect, weight))

    def cost(self, rect: Rect) -> float:
        """The weighted area of the filed rects that `rect` overlaps (0: none)."""
        seen: set[int] = set()
        total = 0.0
        for cell in self._span(rect):
            for other, weight in self.cells.get(cell, ()):
                if id(other) in seen:
                    continue
                seen.add(id(other))
                area = overlap(rect, other)
                if area > 0:
                    total += weight * max(area, 1.0)
        return total


def overlap(a: Rect, b: Rect) -> float:
    """The area two rects share (0 when they only touch)."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return width * height if width > 0 and height > 0 else 0.0


def centred(centre: Point, size: tuple[float, float]) -> Rect:
    width, height = size
    return (centre[0] - width / 2, centre[1] - height / 2,
            centre[0] + width / 2, centre[1] + height / 2)


def place(asks: list[LabelAsk], nodes: list[Rect], ports: list[Rect]) -> dict[object, Rect]:
    """key → the rect of each wire's label (asks without places are left out)."""
    grid = RectGrid()
    for rect in nodes:
        grid.add(rect)
    for rect in ports:
        grid.add(rect, PORT_WEIGHT)
    placed: dict[object, Rect] = {}
    for ask in sorted(asks, key=lambda a: a.spread):
        best, best_cost = None, None
        for centre in ask.centres:
            rect = centred(centre, ask.size)
            cost = grid.cost(rect)
            if best_cost is None or cost < best_cost:
                best, best_cost = rect, cost
            if cost == 0:
                break
        if best is not None:
            placed[ask.key] = best
            grid.add(best)
    return placed
