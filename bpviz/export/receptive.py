"""A receptive field for a slide: the nested theoretical boxes beside the effective field.

Left, the input picture of one sample of a pass (grey, min to max; a
3-channel input in colour) with the theoretical field of one unit of the
chosen node as seen through every conv and pool layer on its way
(bpviz.engine.receptive.nested_boxes), each box in its own colour and
labelled with its size, e.g. 3×3, 7×7 and 15×15 for the dilated stack; a
legend under the picture names the layer of each box. Right, the effective
field |∂unit/∂input| of the same unit (summed over the input's channels), a
sequential heat map from 0 to its largest value with its colour bar, and the
unit's whole box dashed over it: what the unit could see, and what it
actually looks at.

The unit: the one asked for, or `StepSession.alive_unit`'s (the unit
nearest the centre whose effective field is not zero, in the channel that
sees most); with a place but no channel, the channel that sees most there.
NOTE: in training mode a batchnorm mixes every pixel of a channel into its
statistics, so the effective field of a unit after one spreads over the
whole image; an evaluation-mode pass shows the local field.

One picture as PNG (at a DPI), SVG (QSvgGenerator) or a one-page vector PDF.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter, QPen

from bpviz.engine.receptive import NestedBox, field_input, nested_boxes
from bpviz.engine.stepping import StepSession
from bpviz.export.base import Exporter, ExportError, Progress, ensure_app, png_bytes
from bpviz.export.caption import font
from bpviz.export.colours import GREY, SEQUENTIAL, colour_image, paint_colour_bar, short_number
from bpviz.export.devices import check_dpi, pdf_document, raster_image, svg_document
from bpviz.export.heatmaps import THEMES

MARGIN, GAP, TITLE_H, PANEL_TITLE_H, ROW_H, BAR_H = 24.0, 44.0, 34.0, 24.0, 20.0, 56.0
PANEL = 340  # about this many figure pixels a side for the pictures
# Okabe and Ito's colours, told apart also with a colour-vision deficiency.
BOX_COLOURS = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7")
Unit = tuple[int, int, int]  # (channel, i, j)


def unit_for(session: StepSession, node: str, sample: int,
             place: tuple[int, int] | None = None) -> Unit:
    """The unit to show: alive_unit's, or at `place` the channel that sees most."""
    if place is None:
        return session.alive_unit(node, sample)
    _, channels, height, width = session.output(node).shape
    i, j = place
    if not (0 <= i < height and 0 <= j < width):
        raise ExportError(f"unit ({i}, {j}) is outside the {height}×{width} output of '{node}'")
    totals = [session.effective_receptive_field(node, sample, c, i, j).sum()
              for c in range(channels)]
    return int(np.argmax(totals)), i, j


class ReceptiveFigure:
    """The picture's parts, measured in figure pixels, ready to paint."""

    def __init__(self, session: StepSession, node: str, unit: Unit, sample: int,
                 theme: str, transparent: bool, title: str) -> None:
        network = session.network
        self.node, self.unit, self.sample = node, unit, sample
        channel, i, j = unit
        self.boxes: list[NestedBox] = nested_boxes(network, node, i, j)
        source = field_input(network, node)
        self.image = np.asarray(session.feeds[source][sample], dtype=np.float64)
        self.field = session.effective_receptive_field(node, sample, channel, i, j,
                                                       source).sum(axis=0)
        self.source = source
        height, width = self.field.shape
        self.cell = max(1, min(40, round(PANEL / max(height, width))))
        self.panel = QSizeF(width * self.cell, height * self.cell)
        self.colours = [QColor(c) for c in THEMES[theme]]
        self.transparent = transparent
        self.title = title
        legend_h = ROW_H * len(self.boxes) + 8
        self.size = QSizeF(2 * MARGIN + 2 * self.panel.width() + GAP,
                           MARGIN + TITLE_H + PANEL_TITLE_H + self.panel.height() + 12
                           + max(legend_h, BAR_H) + MARGIN)

    # -- painting ---------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        background, text, muted = self.colours
        if not self.transparent:
            painter.fillRect(QRectF(QPointF(0, 0), self.size), background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        painter.setFont(font(13, True))
        painter.setPen(text)
        room = self.size.width() - 2 * MARGIN
        title = self.title  # without the graph's name when the two do not fit
        if QFontMetricsF(painter.font()).horizontalAdvance(title) > room:
            title = QFontMetricsF(painter.font()).elidedText(
                title.split(" · ")[0], Qt.TextElideMode.ElideRight, room)
        painter.drawText(QRectF(MARGIN, MARGIN, room, TITLE_H),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, title)
        top = MARGIN + TITLE_H + PANEL_TITLE_H
        left = QRectF(QPointF(MARGIN, top), self.panel)
        right = QRectF(QPointF(MARGIN + self.panel.width() + GAP, top), self.panel)
        channel, i, j = self.unit
        self._panel_title(painter, left, f"input {self.source}, sample {self.sample}: "
                                         "the theoretical fields", text)
        self._panel_title(painter, right, f"effective field |∂{self.node}[{channel},{i},{j}]"
                                          f" / ∂{self.source}|", text)
        painter.drawImage(left, self._pixels(self._input_image()))
        painter.drawImage(right, self._pixels(colour_image(self.field, SEQUENTIAL, 0.0,
                                                           self._field_top())))
        self._boxes(painter, left)
        outer = self.boxes[-1]
        self._rect(painter, right, outer.box, self._colour(len(self.boxes) - 1), dashed=True)
        below = top + self.panel.height() + 12
        self._legend(painter, QPointF(MARGIN, below), text)
        bar = QRectF(right.left(), below + 22, min(260.0, right.width()), 12)
        top_value = self._field_top()
        paint_colour_bar(painter, bar, SEQUENTIAL,
                         [(0.0, "0"), (1.0, short_number(top_value))],
                         "|∂unit/∂input|, summed over channels", muted, font(10))

    def _panel_title(self, painter: QPainter, panel: QRectF, title: str, colour: QColor):
        painter.setFont(font(11))
        painter.setPen(colour)
        metrics = QFontMetricsF(painter.font())
        shown = metrics.elidedText(title, Qt.TextElideMode.ElideRight, panel.width() + GAP - 8)
        painter.drawText(QRectF(panel.left(), panel.top() - PANEL_TITLE_H, panel.width() + GAP,
                                PANEL_TITLE_H - 4),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, shown)

    def _field_top(self) -> float:
        top = float(np.max(self.field)) if self.field.size else 0.0
        return top if top > 0 else 1.0

    def _input_image(self) -> QImage:
        image = self.image
        if image.shape[0] == 3:
            low, high = float(image.min()), float(image.max())
            scaled = (image - low) / (high - low) if high > low else np.zeros_like(image)
            rgb = np.ascontiguousarray((np.moveaxis(scaled, 0, -1) * 255).round()
                                       .astype(np.uint8))
            height, width = rgb.shape[:2]
            return QImage(rgb.data, width, height, 3 * width,
                          QImage.Format.Format_RGB888).copy()
        grey = image.mean(axis=0)
        low, high = float(grey.min()), float(grey.max())
        return colour_image(grey, GREY, low, high if high > low else low + 1.0)

    def _pixels(self, image: QImage) -> QImage:
        """One square of `cell` figure pixels per value, sharp in every format."""
        return image.scaled(image.width() * self.cell, image.height() * self.cell,
                            Qt.AspectRatioMode.IgnoreAspectRatio,
                            Qt.TransformationMode.FastTransformation)

    def _colour(self, k: int) -> QColor:
        return QColor(BOX_COLOURS[k % len(BOX_COLOURS)])

    def _rect(self, painter: QPainter, panel: QRectF, box, colour: QColor,
              dashed: bool = False) -> QRectF:
        top, left, height, width = box
        rect = QRectF(panel.left() + left * self.cell, panel.top() + top * self.cell,
                      width * self.cell, height * self.cell)
        pen = QPen(colour, 2.5)
        pen.setJoinStyle(Qt.PenJoinStyle.MiterJoin)
        if dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(rect.adjusted(1.25, 1.25, -1.25, -1.25))
        return rect

    def _boxes(self, painter: QPainter, panel: QRectF) -> None:
        """Every box, then over them their sizes, the largest first, where a label fits."""
        drawn = [(self._rect(painter, panel, box.box, self._colour(k)), self._colour(k),
                  size_text(box.size)) for k, box in enumerate(self.boxes)]
        painter.setFont(font(9, True))
        metrics = QFontMetricsF(painter.font())
        taken: list[QRectF] = []
        for k in reversed(range(len(drawn))):
            rect, colour, label = drawn[k]
            smaller = [other for other, _, _ in drawn[:k]]  # a label must not hide them
            tag = self._tag_place(rect, panel, QSizeF(metrics.horizontalAdvance(label) + 8,
                                                      metrics.height() + 2), taken + smaller)
            if tag is None:
                continue  # the legend names it
            taken.append(tag)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawRoundedRect(tag, 3, 3)
            painter.setPen(QColor("#000000"))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, label)

    @staticmethod
    def _tag_place(rect: QRectF, panel: QRectF, size: QSizeF,
                   taken: list[QRectF]) -> QRectF | None:
        """Where a box's label goes: inside its top left corner, else just above
        it, else to its right; None when each of them is taken or off the picture."""
        inside = QRectF(QPointF(rect.left() + 3, rect.top() + 3), size)
        above = QRectF(QPointF(rect.left(), rect.top() - size.height() - 2), size)
        beside = QRectF(QPointF(rect.right() + 3, rect.top()), size)
        for k, tag in enumerate((inside, above, beside)):
            if k == 0 and (size.width() > rect.width() - 6 or size.height() > rect.height() - 6):
                continue
            if panel.contains(tag) and not any(tag.intersects(other) for other in taken):
                return tag
        return None

    def _legend(self, painter: QPainter, corner: QPointF, text: QColor) -> None:
        painter.setFont(font(10))
        for k, box in enumerate(self.boxes):
            y = corner.y() + k * ROW_H
            painter.setPen(QPen(self._colour(k), 3))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(corner.x() + 1.5, y + 4.5, 14, 10))
            painter.setPen(text)
            clipped = "" if box.box[2:] == box.size else ", clipped to the image"
            painter.drawText(QPointF(corner.x() + 24, y + 14),
                             f"{size_text(box.size)}  {box.node}, unit ({box.unit[0]}, "
                             f"{box.unit[1]}){clipped}")


def size_text(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


class ReceptiveFieldExporter(Exporter):
    """The picture of `node`'s receptive field in a pass, as "png", "svg" or "pdf".

    unit: (channel, i, j), or (i, j) for the channel that sees most there, or
    None for StepSession.alive_unit's. sample: which sample of the batch.
    """

    extensions = (".png", ".svg", ".pdf")

    def __init__(self, session: StepSession, node: str, fmt: str = "png",
                 unit: tuple[int, ...] | None = None, sample: int = 0, theme: str = "light",
                 dpi: float | None = None, transparent: bool = False, name: str = "",
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        if fmt not in ("png", "svg", "pdf"):
            raise ExportError(f"a receptive field exports to png, svg or pdf, not {fmt!r}")
        spatial = session.spatial_nodes()
        if node not in spatial:
            known = ", ".join(spatial) or "none in this graph"
            what = "no such node" if node not in session.network.nodes else (
                "it has no spatial receptive field")
            raise ExportError(f"cannot draw the receptive field of '{node}': {what} "
                              f"(nodes with one: {known})")
        batch = session.output(node).shape[0]
        if not 0 <= sample < batch:
            raise ExportError(f"sample {sample} is outside the batch of {batch}")
        ensure_app()
        if unit is None or len(unit) == 2:
            unit = unit_for(session, node, sample, unit)
        _, channels, height, width = session.output(node).shape
        if not (0 <= unit[0] < channels and 0 <= unit[1] < height and 0 <= unit[2] < width):
            raise ExportError(f"unit {tuple(unit)} is outside the {channels}×{height}×{width} "
                              f"output of '{node}' (channel, i, j)")
        self.unit = tuple(int(u) for u in unit)
        channel, i, j = self.unit
        title = f"receptive field of {node}, channel {channel}, unit ({i}, {j})"
        self.figure = ReceptiveFigure(session, node, self.unit, sample, theme, transparent,
                                      title + (f" · {name}" if name else ""))
        self.fmt, self.dpi = fmt, None if dpi is None else check_dpi(dpi)

    def data(self):
        figure = self.figure
        if self.fmt == "png":
            return raster_image(figure.size, figure.paint, self.dpi)
        if self.fmt == "svg":
            return svg_document(figure.size, figure.paint, figure.title)
        return pdf_document(figure.size, figure.paint, figure.title)

    def encode(self, data) -> bytes:
        return png_bytes(data) if self.fmt == "png" else data

