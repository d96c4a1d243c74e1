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

from bpviz.ui.canvas.node_item import NodeItem, canvas_font

WIRE_COLOUR = QColor("#4d4d4d")
WIRE_SELECTED = QColor("#0072B2")
LABEL_FILL = QColor(255, 255, 255, 235)
LABEL_LINE = QColor("#999999")
LABEL_TEXT = QColor("#1a1a1a")
SAMPLES = 24
LANE_REACH = 45.0
LANE_GAP = 28.0
LANE_STEP = 14.0


def bezier(start: QPointF, end: QPointF) -> QPainterPath:
    """An S-curve leaving `start` to the right and entering `end` from the left."""
    reach = max(50.0, abs(end.x() - start.x()) * 0.5, abs(end.y() - start.y()) * 0.25)
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(end.x() - reach, end.y()), end)
    return path


def blocked_by(path: QPainterPath, rects: list[QRectF]) -> list[QRectF]:
    """The rects that `path` passes through (sampled along the curve)."""
    points = [path.pointAtPercent(i / SAMPLES) for i in range(1, SAMPLES)]
    return [rect for rect in rects if any(rect.contains(p) for p in points)]


def lane_path(start: QPointF, end: QPointF, lane: float) -> QPainterPath:
    """Out to the right, along the horizontal `lane`, and into `end` from the left."""
    reach = LANE_REACH
    path = QPainterPath(start)
    a = QPointF(start.x() + reach, lane)
    b = QPointF(end.x() - reach, lane)
    path.cubicTo(QPointF(start.x() + reach * 0.8, start.y()), QPointF(start.x() + reach * 0.2,
                                                                       lane), a)
    path.lineTo(b)
    path.cubicTo(QPointF(end.x() - reach * 0.2, lane), QPointF(end.x() - reach * 0.8, end.y()),
                 end)
    return path


def route(start: QPointF, end: QPointF, rects: list[QRectF], side: int = 0
          ) -> tuple[QPainterPath, list]:
    """A wire from `start` to `end` that goes around the node `rects` in its way.

    Returns the path and the rects it had to avoid. A wire blocked by nodes
    runs along a lane above (side < 0) or below (side > 0) them; side 0 takes
    the nearer one. The more nodes it passes, the farther out its lane, so
    nested skip connections do not overlap.
    """
    path = bezier(start, end)
    blocked = blocked_by(path, rects)
    if not blocked or end.x() - start.x() < 2 * LANE_REACH:
        return path, blocked
    left, right = start.x() + LANE_REACH, end.x() - LANE_REACH
    in_span = [r for r in rects if r.right() > left and r.left() < right]
    gap = LANE_GAP + LANE_STEP * len(blocked)
    top = min(r.top() for r in blocked) - gap
    bottom = max(r.bottom() for r in blocked) + gap
    middle = (start.y() + end.y()) / 2
    above = side < 0 or (side == 0 and middle - top <= bottom - middle)
    for _ in range(4):  # push the lane past nodes it would cut through
        lane = top if above else bottom
        hits = [r for r in in_span if r.top() - 8 < lane < r.bottom() + 8]
        if not hits:
            break
        if above:
            top = min(r.top() for r in hits) - LANE_GAP
        else:
            bottom = max(r.bottom() for r in hits) + LANE_GAP
    return lane_path(start, end, top if above else bottom), blocked


class WireItem(QGraphicsPathItem):
    def __init__(self, src: NodeItem, dst: NodeItem, port: int) -> None:
        super().__init__()
        self.src, self.dst, self.port = src, dst, port
        self.label = ""
        self.avoiding: list[QRectF] = []
        self._label_rect = QRectF()
        self.setZValue(-1)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setPen(QPen(WIRE_COLOUR, 2.0))
        self.update_path([])

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

    def update_path(self, obstacles: list[QRectF]) -> None:
        """Re-route between the two ports around `obstacles` (other nodes' scene rects)."""
        end = self.dst.in_port_pos(self.port)
        centre = self.dst.scenePos().y()
        side = -1 if end.y() < centre - 1 else 1 if end.y() > centre + 1 else 0
        path, self.avoiding = route(self.src.out_port_pos(), end, obstacles, side)
        self.setPath(path)
        self._place_label()

    def may_cross(self, rect: QRectF) -> bool:
        """Whether a node at `rect` may lie in this wire's way (or did before)."""
        start, end = self.src.out_port_pos(), self.dst.in_port_pos(self.port)
        box = QRectF(start, end).normalized().adjusted(-60, -60, 60, 60)
        return box.intersects(rect) or bool(self.avoiding)

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
