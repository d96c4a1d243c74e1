"""Small marks drawn on a node: the "+" where gradients are summed, the torch check.

Both are child items of a NodeItem, so they move with it and go with it.
SumBadge sits next to the output port of a node whose output feeds several
consumers: during backward, their gradients arrive there and are added.
VerifyBadge sits above the node's top-right corner: a tick with the largest
error against PyTorch, or a red cross.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from bpviz.scene.colours import canvas, norm_colour
from bpviz.scene.fonts import canvas_font

SUM_RADIUS = 11.0
OK_COLOUR = "#009E73"  # bluish green (Okabe–Ito)
BAD_COLOUR = "#D55E00"  # vermillion, the canvas's error colour


def _font(points: float = 10.0, bold: bool = True):
    font = canvas_font(bold)
    font.setPointSizeF(points)
    return font


class SumBadge(QGraphicsItem):
    """A circled "+" by the output port: the contributions of the forks are summed."""

    def __init__(self, parent: QGraphicsItem) -> None:
        super().__init__(parent)
        self.setZValue(4)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setToolTip("the gradients coming back along the outgoing wires are added")

    def boundingRect(self) -> QRectF:
        r = SUM_RADIUS + 2
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(canvas("node_text"), 1.5))
        painter.setBrush(QBrush(norm_colour(1.0)))
        painter.drawEllipse(QPointF(0, 0), SUM_RADIUS, SUM_RADIUS)
        pen = QPen(QColor("#ffffff"), 2.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        arm = SUM_RADIUS * 0.55
        painter.drawLine(QPointF(-arm, 0), QPointF(arm, 0))
        painter.drawLine(QPointF(0, -arm), QPointF(0, arm))


class VerifyBadge(QGraphicsItem):
    """"✓ 2.1e-09" (within tolerance) or "✗ 0.34" (not), in a pill."""

    def __init__(self, parent: QGraphicsItem, ok: bool, text: str, tooltip: str = "") -> None:
        super().__init__(parent)
        self.ok = ok
        self.text = ("✓ " if ok else "✗ ") + text
        self.setZValue(5)
        self.setToolTip(tooltip or self.text)
        metrics = QFontMetricsF(_font())
        self._rect = QRectF(0, 0, metrics.horizontalAdvance(self.text) + 12,
                            metrics.height() + 4)

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(OK_COLOUR if self.ok else BAD_COLOUR)
        painter.setPen(QPen(colour.darker(130), 1.0))
        painter.setBrush(QBrush(colour))
        radius = self._rect.height() / 2
        painter.drawRoundedRect(self._rect, radius, radius)
        painter.setFont(_font())
        painter.setPen(QColor("#ffffff"))
        painter.drawText(self._rect, Qt.AlignmentFlag.AlignCenter, self.text)
