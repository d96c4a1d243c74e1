"""Nested receptive boxes on a pyqtgraph view: one rectangle per conv and pool layer.

NestedBoxItems draws the boxes of bpviz.engine.receptive.nested_boxes on an
input picture, each in its own colour (the export's colour-blind-safe
palette, bpviz.export.receptive) and tagged with its size (3×3, 7×7,
15×15) where the tag fits on screen: inside the box's top left corner,
else just above it, else to its right, never over another tag or a smaller
box (as the export places them); a tag with no room is hidden.
`legend_html` names the layer of each box: one entry for boxes clipped to the
same rectangle, at most LEGEND_MOST entries (the full list: `legend_tooltip`).
"""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QFont, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from bpviz.engine.receptive import NestedBox
from bpviz.engine.shape_text import square_text
from bpviz.export.receptive import BOX_COLOURS

TAG_POINTS = 8
LEGEND_MOST = 7  # entries in the legend (the colours repeat after 7)


def tag_font() -> QFont:
    font = QFont()
    font.setPointSize(TAG_POINTS)
    font.setBold(True)
    return font


def box_colour(k: int) -> str:
    return BOX_COLOURS[k % len(BOX_COLOURS)]


def outlined(colour: str, width: float = 2.5, dashed: bool = False) -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    pen = QPen(QColor(colour))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    if dashed:
        pen.setDashPattern([4.0, 3.0])
    item.setPen(pen)
    item.setZValue(10)
    return item


class NestedBoxItems:
    """The boxes and size tags drawn on one view box (replaced on every `show`)."""

    def __init__(self, view: pg.ViewBox) -> None:
        self.view = view
        self.rect_items: list[QGraphicsRectItem] = []
        self.tags: list[pg.TextItem] = []
        self.boxes: list[NestedBox] = []
        self.picture = QRectF()
        view.sigResized.connect(self.place_tags)
        view.sigRangeChanged.connect(self.place_tags)

    def clear(self) -> None:
        for item in self.rect_items + self.tags:
            self.view.removeItem(item)
        self.rect_items, self.tags, self.boxes = [], [], []

    def show(self, boxes: list[NestedBox], picture: QRectF) -> None:
        """Draw `boxes` (smallest first) on a picture covering `picture` in view units."""
        self.clear()
        self.boxes, self.picture = list(boxes), picture
        for k, box in enumerate(boxes):
            top, left, height, width = box.box
            rect = outlined(box_colour(k))
            rect.setRect(QRectF(left, top, width, height))
            rect.setZValue(10 + k)
            self.view.addItem(rect)
            self.rect_items.append(rect)
            tag = pg.TextItem(square_text(box.size), color="#000000",
                              fill=pg.mkBrush(box_colour(k)), anchor=(0, 0))
            tag.setFont(tag_font())
            tag.setZValue(30)
            self.view.addItem(tag)
            self.tags.append(tag)
        self.place_tags()

    def place_tags(self, *_) -> None:
        """Each box's tag where it fits: inside its top left corner, else just above
        it, else to its right; hidden (the legend names it) when none is free."""
        pixel_w, pixel_h = self.view.viewPixelSize()
        if not self.tags or not (pixel_w > 0 and pixel_h > 0):
            return
        taken: list[QRectF] = []
        for k in reversed(range(len(self.tags))):
            tag, rect = self.tags[k], self.rect_items[k].rect()
            size = tag.textItem.boundingRect().size()
            width, height = size.width() * pixel_w, size.height() * pixel_h
            smaller = [item.rect() for item in self.rect_items[:k]]
            place = None
            for left, top, inside in ((rect.left(), rect.top(), True),
                                      (rect.left(), rect.top() - height, False),
                                      (rect.right(), rect.top(), False)):
                spot = QRectF(left, top, width, height)
                if inside and not rect.contains(spot):
                    continue
                if self.picture.contains(spot) and not any(spot.intersects(other)
                                                           for other in taken + smaller):
                    place = spot
                    break
            tag.setVisible(place is not None)
            if place is not None:
                tag.setPos(place.left(), place.top())
                taken.append(place)

    def rects(self) -> list[tuple[float, float, float, float]]:
        """(top, left, height, width) of every drawn box, smallest first."""
        return [(r.top(), r.left(), r.height(), r.width())
                for r in (item.rect() for item in self.rect_items)]

    def tag_texts(self, shown_only: bool = False) -> list[str]:
        return [tag.textItem.toPlainText() for tag in self.tags
                if tag.isVisible() or not shown_only]


def box_text(box: NestedBox) -> str:
    clipped = "" if tuple(box.box[2:]) == tuple(box.size) else " (clipped)"
    return f"{square_text(box.size)} {box.node} ({box.unit[0]}, {box.unit[1]}){clipped}"


def legend_entries(boxes: list[NestedBox]) -> list[tuple[int, str]]:
    """(colour index, text) per box drawn apart: boxes clipped to the same rectangle
    of the image are one entry (in the colour of the largest, drawn on top)."""
    groups: list[list[int]] = []
    for k, box in enumerate(boxes):
        if groups and tuple(boxes[groups[-1][-1]].box) == tuple(box.box):
            groups[-1].append(k)
        else:
            groups.append([k])
    entries = []
    for group in groups:
        first, last = boxes[group[0]], boxes[group[-1]]
        if len(group) == 1:
            entries.append((group[0], box_text(first)))
        else:
            entries.append((group[-1], f"{square_text(first.size)} {first.node} … "
                                       f"{square_text(last.size)} {last.node} "
                                       f"({len(group)} layers clipped to one box)"))
    return entries


def legend_html(boxes: list[NestedBox], text_colour: str, most: int = LEGEND_MOST) -> str:
    """"■ 3×3 dil1 (16, 16) ■ 7×7 …", each square in its box's colour: at most `most`
    entries, the smallest and the largest boxes, "… N more" between (their
    list is `legend_tooltip`'s), so the pictures keep their room."""
    entries = legend_entries(boxes)
    parts = [f"<span style='color:{box_colour(k)}; font-size:14pt'>■</span> "
             f"<span style='color:{text_colour}'>{html.escape(text)}</span>"
             for k, text in entries]
    if len(parts) > most:
        head = most // 2
        tail = most - head - 1
        hidden = len(parts) - head - tail
        parts = [*parts[:head], f"<span style='color:{text_colour}'>… {hidden} more</span>",
                 *parts[len(parts) - tail:]]
    return " &nbsp; ".join(parts)


def legend_tooltip(boxes: list[NestedBox]) -> str:
    """Every box, one a line, smallest first."""
    return "\n".join(box_text(box) for box in boxes)
