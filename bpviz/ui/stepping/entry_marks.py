"""The marks of an explained entry: its cell, the cells it reads, the nodes they belong to.

On the heatmaps (MapMarks): the outline of the region of cells the entry
reads in the tensor in sight (yellow, edged in black so it shows on every
colour map) and the entry's own cell (magenta, thicker). On the bars
(`mark_bars`): the same colours as the bars' outlines. On the canvas
(NodeMarks): a dashed ring around every node whose tensors the entry reads,
labelled with what it reads there, and a solid one around the entry's own
node.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from bpviz.scene.fonts import canvas_font

READ_COLOUR = "#FFD400"  # the cells read
CHOSEN_COLOUR = "#FF2DAA"  # the entry explained
EDGE_COLOUR = "#000000"


def region_path(mask: np.ndarray) -> QPainterPath:
    """The outline of the cells of a boolean [H, W] mask (cell (i, j) spans
    x j…j+1, y i…i+1): every edge between a marked and an unmarked cell."""
    path = QPainterPath()
    padded = np.pad(mask, 1)
    # horizontal edges at y = i (between rows i-1 and i), vertical at x = j
    rows = np.argwhere(padded[1:, 1:-1] != padded[:-1, 1:-1])
    cols = np.argwhere(padded[1:-1, 1:] != padded[1:-1, :-1])
    for i, j in _runs(rows):
        path.moveTo(QPointF(j[0], i))
        path.lineTo(QPointF(j[1], i))
    for j, i in _runs(cols[:, ::-1]):
        path.moveTo(QPointF(j, i[0]))
        path.lineTo(QPointF(j, i[1]))
    return path


def _runs(edges: np.ndarray):
    """Edges (line, position) merged into runs: (line, (start, end))."""
    if not len(edges):
        return
    order = np.lexsort((edges[:, 1], edges[:, 0]))
    edges = edges[order]
    breaks = np.flatnonzero((np.diff(edges[:, 0]) != 0) | (np.diff(edges[:, 1]) != 1)) + 1
    for run in np.split(edges, breaks):
        yield int(run[0, 0]), (int(run[0, 1]), int(run[-1, 1]) + 1)


def outline_items(path: QPainterPath, colour: str, width: float) -> list[QGraphicsPathItem]:
    """The path twice: a black edge under a coloured line (cosmetic pens, in pixels)."""
    items = []
    for pen_colour, pen_width, z in ((EDGE_COLOUR, width + 2.0, 20), (colour, width, 21)):
        item = QGraphicsPathItem(path)
        pen = QPen(QColor(pen_colour), pen_width)
        pen.setCosmetic(True)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        item.setPen(pen)
        item.setZValue(z)
        items.append(item)
    return items


class MapMarks:
    """The marks on the heatmap grid's boxes; `show` replaces them."""

    def __init__(self) -> None:
        self.items: list[tuple[pg.ViewBox, QGraphicsPathItem]] = []
        self.masks: list[np.ndarray] = []  # the cells read, per box
        self.chosen: tuple[int, int, int] | None = None  # (box, row, col) of the entry

    def clear(self) -> None:
        for box, item in self.items:
            try:
                box.removeItem(item)
            except RuntimeError:  # the box has gone with a rebuilt grid
                pass
        self.items, self.masks, self.chosen = [], [], None

    def show(self, boxes: list[pg.ViewBox], reads: list[np.ndarray],
             chosen: tuple[int, int, int] | None) -> None:
        """`reads`: a mask per box; `chosen`: (box index, row, col) of the entry or None."""
        self.clear()
        self.masks = [mask for _, mask in zip(boxes, reads)]
        for box, mask in zip(boxes, reads):
            if mask.any():
                self._add(box, outline_items(region_path(mask), READ_COLOUR, 2.0))
        if chosen is not None and 0 <= chosen[0] < len(boxes):
            self.chosen = chosen
            k, row, col = chosen
            path = QPainterPath()
            path.addRect(QRectF(col, row, 1, 1))
            self._add(boxes[k], outline_items(path, CHOSEN_COLOUR, 3.0))

    def _add(self, box: pg.ViewBox, items: list[QGraphicsPathItem]) -> None:
        for item in items:
            box.addItem(item, ignoreBounds=True)
            self.items.append((box, item))


def mark_bars(bars, reads: np.ndarray | None, chosen: int | None) -> None:
    """Outline the bars read (yellow) and the chosen one (magenta); None: plain again."""
    if bars.bars is None:
        return
    size = bars.values.size
    plain = pg.mkPen(bars.colours.line)
    pens = [plain] * size
    if reads is not None:
        for j in np.flatnonzero(reads[:size]):
            pens[j] = pg.mkPen(READ_COLOUR, width=3)
    if chosen is not None and 0 <= chosen < size:
        pens[chosen] = pg.mkPen(CHOSEN_COLOUR, width=4)
    bars.bars.setOpts(pens=pens)


class NodeRing(QGraphicsItem):
    """A ring around a node (a child of its NodeItem) and a label above it."""

    def __init__(self, parent: QGraphicsItem, chosen: bool, label: str) -> None:
        super().__init__(parent)
        self.chosen, self.label = chosen, label
        self.setZValue(-1)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setToolTip(label)

    def _ring(self) -> QRectF:
        return self.parentItem().rect().adjusted(-9, -9, 9, 9)

    def boundingRect(self) -> QRectF:
        return self._ring().adjusted(-4, -26, 4, 4)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        ring = self._ring()
        pen = QPen(QColor(CHOSEN_COLOUR if self.chosen else READ_COLOUR), 3.0)
        pen.setCosmetic(True)  # as thick at every zoom
        if not self.chosen:
            pen.setStyle(Qt.PenStyle.DashLine)
        edge = QPen(QColor(EDGE_COLOUR), 5.0)
        edge.setCosmetic(True)
        painter.setPen(edge)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(ring, 12, 12)
        painter.setPen(pen)
        painter.drawRoundedRect(ring, 12, 12)
        font = canvas_font(True)
        font.setPointSizeF(9.0)
        painter.setFont(font)
        painter.setPen(QColor(CHOSEN_COLOUR if self.chosen else "#B8860B"))
        painter.drawText(QRectF(ring.left(), ring.top() - 22, ring.width() + 200, 20),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, self.label)


class NodeMarks:
    """The rings on the canvas; `show({node: label}, chosen node)` replaces them."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self.rings: dict[str, NodeRing] = {}

    def clear(self) -> None:
        for ring in self.rings.values():
            if ring.scene() is not None:
                ring.scene().removeItem(ring)
        self.rings = {}

    def show(self, reads: dict[str, str], chosen: str | None, chosen_label: str = "") -> None:
        self.clear()
        for node, label in reads.items():
            item = self.scene.nodes.get(node)
            if item is not None and node != chosen:
                self.rings[node] = NodeRing(item, False, label)
        if chosen is not None and chosen in self.scene.nodes:
            self.rings[chosen] = NodeRing(self.scene.nodes[chosen], True, chosen_label)
