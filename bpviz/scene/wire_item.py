"""WireItem: a cubic Bézier from a node's output port to another node's input port.

The source node's output shape is written on the wire ("16×8×8"): in its
middle, or where the scene finds room clear of other labels, ports and
nodes (bpviz.scene.label_places). Wires lie behind nodes and follow them
when they move.
"""

from __future__ import annotations

from collections.abc import Iterator

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

from bpviz.engine.shape_text import shape_text
from bpviz.scene import label_places, routing
from bpviz.scene.colours import canvas, is_dark, line_width, mix
from bpviz.scene.fonts import canvas_font
from bpviz.scene.node_item import NodeItem, prepare_resize
from bpviz.scene.port_item import PORT_RADIUS

# Where along the wire its label may sit (fractions of its length), best first.
ALONG = (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.18, 0.82, 0.1, 0.9)
WIRE_SELECTED = QColor("#0072B2")  # the wire being drawn (the view's rubber wire)


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


def return_path(start: QPointF, end: QPointF, lane: float) -> QPainterPath:
    """A backward wire: out of `start`, a U-turn onto the `lane`, back along it and
    a U-turn into `end` from the left."""
    reach = routing.REACH
    path = QPainterPath(start)
    path.cubicTo(QPointF(start.x() + reach, start.y()), QPointF(start.x() + reach, lane),
                 QPointF(start.x(), lane))
    path.lineTo(QPointF(end.x(), lane))
    path.cubicTo(QPointF(end.x() - reach, lane), QPointF(end.x() - reach, end.y()), end)
    return path


def label_room(shapes) -> float:
    """The free space two columns of nodes need for the widest of these shapes'
    labels to sit on the wire between them, clear of the ports at both ends."""
    metrics = QFontMetricsF(canvas_font())
    widest = max((metrics.horizontalAdvance(shape_text(shape)) for shape in shapes),
                 default=0.0)
    return widest + 10 + 2 * (PORT_RADIUS + 4)


def note_colour() -> QColor:
    """The gradient notes' text: the ramp's red, readable on the theme's labels."""
    return QColor("#ff8a80") if is_dark() else QColor("#a0151a")


class WireItem(QGraphicsPathItem):
    def __init__(self, src: NodeItem, dst: NodeItem, port: int) -> None:
        super().__init__()
        self.src, self.dst, self.port = src, dst, port
        self.label = ""
        self.note = ""  # a second line under the shape: the gradient's norm, channels
        self.grad_colour: QColor | None = None  # set during backward: ‖gradient‖ colour
        self.grad_width = 2.0
        self.lane: float | None = None  # the y of its lane when it goes around nodes
        # A folded group's box the wire is drawn from or to instead of its node
        # (bpviz.scene.folding), and the box's input port it enters.
        self.src_end = None
        self.dst_end = None
        self.end_port = 0
        self._label_rect = QRectF()
        self._label_size = (0.0, 0.0)
        self.setZValue(-1)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setPen(QPen(canvas("wire"), 2.0))
        self.update_path()

    @property
    def key(self) -> tuple[str, int]:
        """(destination id, input port): what the document calls this wire."""
        return self.dst.node_id, self.port

    def set_label(self, text: str) -> None:
        if text != self.label:
            prepare_resize(self)
            self.label = text
            self._place_label()
            self.update()

    def set_gradient(self, colour: QColor | None, width: float = 2.0, note: str = "") -> None:
        """Colour and thickness of the gradient flowing back along the wire (None:
        the plain wire) and a note under the shape label."""
        if (colour, width, note) == (self.grad_colour, self.grad_width, self.note):
            return
        prepare_resize(self)
        self.grad_colour, self.grad_width, self.note = colour, width, note
        self.setZValue(-0.5 if colour is not None else -1)
        self._place_label()
        self.update()

    def attach(self, src_end, dst_end, port: int = 0) -> None:
        """Draw from `src_end` and to `dst_end`'s input `port` (folded groups' boxes;
        None: the wire's own node)."""
        self.src_end, self.dst_end, self.end_port = src_end, dst_end, port

    def ends(self) -> tuple[QPointF, QPointF]:
        """Where the wire starts and ends in the scene."""
        start = (self.src_end or self.src).out_port_pos()
        if self.dst_end is not None:
            return start, self.dst_end.in_port_pos(self.end_port)
        return start, self.dst.in_port_pos(self.port)

    def update_path(self) -> None:
        """Redraw between the two ports (along the lane, when it has one)."""
        start, end = self.ends()
        prepare_resize(self)
        if self.lane is None:
            self.setPath(bezier(start, end))
        elif end.x() < start.x():
            self.setPath(return_path(start, end, self.lane))
        else:
            self.setPath(lane_path(start, end, self.lane))
        self._place_label()

    def spec(self, obstacles: list[routing.Rect]) -> routing.WireSpec:
        """What the router needs to know; ports above the node's middle prefer lanes above."""
        start, end = self.ends()
        centre = (self.dst_end or self.dst).scenePos().y()
        side = -1 if end.y() < centre - 1 else 1 if end.y() > centre + 1 else 0
        return routing.WireSpec(self.key, (start.x(), start.y()), (end.x(), end.y()),
                                obstacles, side)

    def _place_label(self) -> None:
        """At the first of label_places(); the scene then moves it clear of other
        labels, ports and nodes (bpviz.scene.label_places)."""
        if not self.label and not self.note:
            self._label_size = (0.0, 0.0)
            self._label_rect = QRectF()
            return
        metrics = QFontMetricsF(canvas_font())
        lines = [text for text in (self.label, self.note) if text]
        self._label_size = (max(metrics.horizontalAdvance(text) for text in lines) + 10,
                            metrics.height() * len(lines) + 2)
        self.set_label_rect(label_places.centred(next(self._label_centres()),
                                                 self._label_size))

    def label_places(self) -> label_places.LabelAsk | None:
        """What the scene needs to place the label (None: the wire has none)."""
        if self._label_rect.isNull():
            return None
        start, end = self.ends()
        spread = abs(end.x() - start.x()) + abs(end.y() - start.y())
        return label_places.LabelAsk(self.key, self._label_size, spread, self._label_centres())

    def _label_centres(self) -> Iterator[label_places.Point]:
        """The centres the label may take, best first: on the middle of the wire, then
        further along it either way, then above or below it; then above or below
        both its nodes (when they stand too close for it between them). While a
        gradient colours the wire, never on it, so colour and thickness stay in sight."""
        height = self._label_size[1]
        lift = height / 2 + max(self.grad_width, 2.0) / 2 + 3
        path = self.path()
        points: list[QPointF] = []
        offsets = (-lift, lift) if self.grad_colour is not None else (0.0, -lift, lift)
        for offset in offsets:
            for index, along in enumerate(ALONG):
                if index == len(points):
                    points.append(path.pointAtPercent(along))
                yield points[index].x(), points[index].y() + offset
        ends = [item.mapRectToScene(item.rect()) for item in
                (self.src_end or self.src, self.dst_end or self.dst)]
        middle = (ends[0].right() + ends[1].left()) / 2
        yield middle, min(r.top() for r in ends) - height / 2 - 3
        yield middle, max(r.bottom() for r in ends) + height / 2 + 3

    def set_label_rect(self, rect: label_places.Rect) -> None:
        placed = QRectF(rect[0], rect[1], rect[2] - rect[0], rect[3] - rect[1])
        if placed != self._label_rect:
            prepare_resize(self)
            self._label_rect = placed
            self.update()

    def label_rect(self) -> QRectF:
        """Where the label is drawn, in scene coordinates (empty without a label)."""
        return QRectF(self._label_rect)

    def boundingRect(self) -> QRectF:
        # NOTE: not QGraphicsPathItem's, which it caches from shape() (label included)
        # until the next setPath: a label moved after that would leave it stale.
        grow = max(2.0, self.grad_width / 2 + 1)
        return self.path().controlPointRect().united(self._label_rect).adjusted(
            -grow, -grow, grow, grow)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        path = stroker.createStroke(self.path())
        if not self._label_rect.isNull():
            path.addRect(self._label_rect)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        if self.grad_colour is not None:
            pen = QPen(self.grad_colour, self.grad_width)
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        else:
            pen = QPen(canvas("wire"), line_width(2.0))
        if self.isSelected():
            pen = QPen(canvas("selection"), max(line_width(3.0), pen.widthF()))
        painter.setPen(pen)
        painter.drawPath(self.path())
        if self.label or self.note:
            self._paint_label(painter)

    def _paint_label(self, painter: QPainter) -> None:
        background, text = canvas("node"), canvas("label")
        fill = QColor(background)
        fill.setAlpha(235)
        painter.setPen(QPen(mix(text, background, 0.55), 1.0))
        painter.setBrush(QBrush(fill))
        painter.drawRoundedRect(self._label_rect, 4, 4)
        painter.setFont(canvas_font())
        lines = [(self.label, text)] if self.label else []
        if self.note:
            lines.append((self.note, note_colour() if self.grad_colour is not None else text))
        height = self._label_rect.height() / len(lines)
        for index, (line, colour) in enumerate(lines):
            painter.setPen(colour)
            rect = QRectF(self._label_rect.left(), self._label_rect.top() + index * height,
                          self._label_rect.width(), height)
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, line)
