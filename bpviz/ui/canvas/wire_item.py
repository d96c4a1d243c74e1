"""WireItem: a cubic Bézier from a node's output port to another node's input port.

The source node's output shape is written at the middle of the wire
("16×8×8"). Wires lie behind nodes and follow them when they move.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
)
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from bpviz.ui.canvas import routing
from bpviz.ui.canvas.node_item import NodeItem, canvas_font

WIRE_COLOUR = QColor("#4d4d4d")
WIRE_SELECTED = QColor("#0072B2")
LABEL_FILL = QColor(255, 255, 255, 235)
LABEL_LINE = QColor("#999999")
LABEL_TEXT = QColor("#1a1a1a")


def bezier(start: QPointF, end: QPointF) -> QPainterPath:
    """An S-curve leaving `start` to the right and entering `end` from the left."""
    c1, c2 = routing.controls((start.x(), start.y()), (end.x(), end.y()))
    path = QPainterPath(start)
    path.cubicTo(QPointF(*c1), QPointF(*c2), end)
    return path


def lane_path(start: QPointF, end: QPointF, lane: float) -> QPainterPath:
    """Out of `start`, along the horizontal `lane`, and into `end` from the left."""
    reach = routing.REACH
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach * 0.8, start.y()),
                 QPointF(start.x() + reach * 0.2, lane), QPointF(start.x() + reach, lane))
    path.lineTo(QPointF(end.x() - reach, lane))
    path.cubicTo(QPointF(end.x() - reach * 0.2, lane),
                 QPointF(end.x() - reach * 0.8, end.y()), end)
    return path


class WireItem(QGraphicsPathItem):
    def __init__(self, src: NodeItem, dst: NodeItem, port: int) -> None:
        super().__init__()
        self.src, self.dst, self.port = src, dst, port
        self.label = ""
        self.lane: float | None = None  # the y of its lane when it goes around nodes
        self._label_rect = QRectF()
        self.setZValue(-1)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setPen(QPen(WIRE_COLOUR, 2.0))
        self.update_path()

    @property
    def key(self) -> tuple[str, int]:
        """(destination id, input port): what the document calls this wire."""
        return self.dst.node_id, self.port

    def set_label(self, text: str) -> None:
        if text != self.label:
            self.prepareGeometryChange()
            self.label = text
            self._place_label()
            self.update()

    def update_path(self) -> None:
        """Redraw between the two ports (along the lane, when it has one)."""
        start, end = self.src.out_port_pos(), self.dst.in_port_pos(self.port)
        self.setPath(bezier(start, end) if self.lane is None else lane_path(start, end,
                                                                             self.lane))
        self._place_label()

    def spec(self, obstacles: list[routing.Rect]) -> routing.WireSpec:
        """What the router needs to know; ports above the node's middle prefer lanes above."""
        start, end = self.src.out_port_pos(), self.dst.in_port_pos(self.port)
        centre = self.dst.scenePos().y()
        side = -1 if end.y() < centre - 1 else 1 if end.y() > centre + 1 else 0
        return routing.WireSpec(self.key, (start.x(), start.y()), (end.x(), end.y()),
                                obstacles, side)

    def _place_label(self) -> None:
        if not self.label:
            self._label_rect = QRectF()
            return
        metrics = QFontMetricsF(canvas_font())
        width = metrics.horizontalAdvance(self.label) + 10
        height = metrics.height() + 2
        centre = self.path().pointAtPercent(0.5)
        self._label_rect = QRectF(centre.x() - width / 2, centre.y() - height / 2, width, height)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(self._label_rect).adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        path = stroker.createStroke(self.path())
        if not self._label_rect.isNull():
            path.addRect(self._label_rect)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        selected = self.isSelected()
        painter.setPen(QPen(WIRE_SELECTED if selected else WIRE_COLOUR, 3.0 if selected else 2.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        if self.label:
            painter.setPen(QPen(LABEL_LINE, 1.0))
            painter.setBrush(QBrush(LABEL_FILL))
            painter.drawRoundedRect(self._label_rect, 4, 4)
            painter.setFont(canvas_font())
            painter.setPen(LABEL_TEXT)
            painter.drawText(self._label_rect, Qt.AlignmentFlag.AlignCenter, self.label)
