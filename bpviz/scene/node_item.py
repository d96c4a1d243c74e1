"""NodeItem: one graph node on the canvas, a rounded box coloured by op family.

The item mirrors a NodeData and the node's part of the ShapeReport; it never
edits the document. Its position is the node's centre.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from bpviz.engine import OPS
from bpviz.engine.shape_text import shape_text
from bpviz.graph import NodeData
from bpviz.scene import labels
from bpviz.scene.badges import SumBadge, VerifyBadge
from bpviz.scene.colours import (
    BACKWARD_MARK,
    FORWARD_MARK,
    canvas,
    line_width,
    mix,
    muted_text,
    step_mark,
)
from bpviz.scene.fonts import canvas_font
from bpviz.scene.port_item import PortItem

PAD = 10.0
MIN_WIDTH = 150.0
MAX_WIDTH = 280.0
PORT_GAP = 24.0
RADIUS = 8.0
MAX_INFO_LINES = 3
INFO_WIDTH = 190.0  # a longer error wraps rather than widening the box

GLOW = 14.0  # how far the current node's halo reaches beyond its box
DONE_BAR = 4.0
TEXT_DARK = QColor("#1a1a1a")


def text_on(colour: QColor) -> QColor:
    """Black or white, whichever reads better on `colour`."""
    luminance = 0.299 * colour.redF() + 0.587 * colour.greenF() + 0.114 * colour.blueF()
    return QColor("#ffffff") if luminance < 0.55 else TEXT_DARK


def short_error(message: str, op: str, node_id: str) -> str:
    """The message without its leading "op 'id'" (the box already shows both)."""
    prefix = f"{op} '{node_id}'"
    if message.startswith(prefix):
        message = message[len(prefix):].lstrip(": ")
    return message


def wrap(text: str, metrics: QFontMetricsF, width: float, max_lines: int) -> list[str]:
    """Word-wrap `text` into at most `max_lines` lines; the last is elided."""
    lines: list[str] = []
    words = text.split()
    while words and len(lines) < max_lines:
        line = words.pop(0)
        while words and metrics.horizontalAdvance(f"{line} {words[0]}") <= width:
            line += " " + words.pop(0)
        lines.append(line)
    if words:
        lines[-1] = lines[-1] + " " + " ".join(words)
    elide = Qt.TextElideMode.ElideRight
    return [metrics.elidedText(line, elide, width) for line in lines]


def scene_area(item: QGraphicsItem) -> QRectF:
    """What `item` and its children cover, in scene coordinates."""
    return item.mapRectToScene(item.boundingRect() | item.childrenBoundingRect())


def repaint_where_it_is(item: QGraphicsItem) -> None:
    """Repaint the scene area `item` (with its children) covers now, before it moves
    or changes size.

    Qt repaints an item's old place from where it was last painted in view
    coordinates, which is stale once the view has scrolled by blitting (following
    the current step does) and leaves pieces of it behind; its scene area is right.
    """
    scene = item.scene()
    if scene is not None:
        scene.update(scene_area(item))


def prepare_resize(item: QGraphicsItem) -> None:
    """prepareGeometryChange, with the present area repainted (see repaint_where_it_is)."""
    repaint_where_it_is(item)
    item.prepareGeometryChange()


def remove_from_scene(item: QGraphicsItem) -> None:
    """Take `item` (and its children) off its scene and repaint the area it covered.

    Qt repaints a removed item where it was last painted in view coordinates,
    which is stale once the view has scrolled by blitting (following the
    current step does) and leaves a ghost; the item's scene area is always right.
    """
    scene = item.scene()
    area = scene_area(item)
    item.setParentItem(None)
    if scene is not None:
        scene.removeItem(item)
        scene.update(area)


class RoundedBoxItem(QGraphicsItem):
    """A rounded box of `_rect` (item coordinates) with room for the glow around it:
    what a node and a folded group have in common on the canvas."""

    _rect: QRectF

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-GLOW, -GLOW, GLOW, GLOW)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._rect, RADIUS, RADIUS)
        return path


class NodeItem(RoundedBoxItem):
    def __init__(self, node: NodeData) -> None:
        super().__init__()
        self.node_id = node.id
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setZValue(1)
        # Repainting the canvas (every step of a pass) blits unchanged boxes.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        self.in_ports: list[PortItem] = []
        self.out_port: PortItem | None = None
        self.error: str | None = None
        self.shape_text = "?"
        self.param_count = 0
        self._rect = QRectF()
        self._info_lines: list[str] = []
        self.step_role: str | None = None  # "active", "done" or None
        self.step_phase: str | None = None
        self.sum_badge: SumBadge | None = None
        self.verify_badge: VerifyBadge | None = None
        self.set_node(node)

    # -- state ----------------------------------------------------------
    def set_node(self, node: NodeData) -> None:
        """Take the node's op, params, inputs and trainable flag."""
        self.node_id = node.id
        self.op = str(node.op)
        self.title = labels.node_title(node)
        self.trainable = node.trainable
        self.missing_inputs = labels.missing_inputs(node)
        self.colour = QColor(labels.family_colour(self.op))
        self._sync_ports(labels.input_port_count(node), labels.has_output_port(node),
                         len(node.inputs))
        self._relayout()

    def set_report(self, shape: tuple[int, ...] | None, error: str | None,
                   param_count: int) -> bool:
        """The node's output shape, error (None when fine) and parameter count.

        Returns whether the box changed size (its wires then need re-routing).
        """
        self.shape_text = shape_text(shape)
        self.error = error
        self.param_count = param_count
        return self._relayout()

    @property
    def has_error(self) -> bool:
        return self.error is not None

    def info_text(self) -> str:
        """The line under the id: the error, or the parameter count and "frozen"."""
        if self.error:
            return "⚠ " + short_error(self.error, self.op, self.node_id)
        words = [labels.format_count(self.param_count)] if self.param_count else []
        if not self.trainable:
            words.append("frozen")
        return " · ".join(words)

    def _tooltip(self) -> str:
        cls = OPS.get(self.op)
        lines = [f"{self.title}  '{self.node_id}'"]
        if self.error:
            lines.append(f"Error: {self.error}")
        else:
            lines.append(f"output {self.shape_text}")
            if self.param_count:
                lines.append(labels.format_count(self.param_count))
        if not self.trainable:
            lines.append("frozen: its parameters are not trained")
        if cls is not None and cls.summary:
            lines.append(cls.summary)
        return "\n".join(lines)

    # -- geometry -------------------------------------------------------
    def _sync_ports(self, n_in: int, has_out: bool, n_used: int) -> None:
        while len(self.in_ports) > n_in:
            remove_from_scene(self.in_ports.pop())
        while len(self.in_ports) < n_in:
            self.in_ports.append(PortItem(self, "in", len(self.in_ports)))
        for index, port in enumerate(self.in_ports):
            port.set_connected(index < n_used)
        if has_out and self.out_port is None:
            self.out_port = PortItem(self, "out")
        elif not has_out and self.out_port is not None:
            remove_from_scene(self.out_port)
            self.out_port = None

    def _line_height(self) -> float:
        return QFontMetricsF(canvas_font()).height()

    def _relayout(self) -> bool:
        """Size the box to its texts and ports; returns whether the size changed."""
        bold = QFontMetricsF(canvas_font(True))
        plain = QFontMetricsF(canvas_font())
        info = self.info_text()
        wanted = max(bold.horizontalAdvance(self.title), plain.horizontalAdvance(self.node_id),
                     min(INFO_WIDTH, plain.horizontalAdvance(info)))
        width = min(MAX_WIDTH, max(MIN_WIDTH, wanted + 2 * PAD))
        self._info_lines = wrap(info, plain, width - 2 * PAD, MAX_INFO_LINES)
        lines = 2 + len(self._info_lines)
        height = max(lines * self._line_height() + 3 * PAD,
                     (len(self.in_ports) + 1) * PORT_GAP)
        rect = QRectF(-width / 2, -height / 2, width, height)
        resized = rect != self._rect
        if resized:
            prepare_resize(self)
            self._rect = rect
        self._place_ports()
        self._place_badges()
        self.setToolTip(self._tooltip())
        self.update()
        return resized

    def _place_ports(self) -> None:
        rect = self._rect
        count = len(self.in_ports)
        for index, port in enumerate(self.in_ports):
            y = rect.top() + rect.height() * (index + 1) / (count + 1)
            port.setPos(rect.left(), y)
        if self.out_port is not None:
            self.out_port.setPos(rect.right(), 0.0)

    def in_port_pos(self, index: int) -> QPointF:
        """Scene position of input port `index` (the free port's place when beyond)."""
        if 0 <= index < len(self.in_ports):
            return self.in_ports[index].scene_centre()
        return self.mapToScene(QPointF(self._rect.left(), 0.0))

    def out_port_pos(self) -> QPointF:
        return self.mapToScene(QPointF(self._rect.right(), 0.0))

    def port_positions(self) -> list[QPointF]:
        """Scene positions of every port drawn on the node."""
        ports = [port.scene_centre() for port in self.in_ports]
        return ports + ([self.out_port_pos()] if self.out_port is not None else [])

    # -- painting -------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect, line = self._rect, self._line_height()
        header_h = line + PAD
        if self.step_role == "active":
            self._paint_glow(painter)
        colour = canvas("frozen") if not self.trainable else self.colour
        body = canvas("node")
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(body if self.trainable else mix(body, canvas("frozen"), 0.35)))
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        header = QPainterPath()
        header.addRoundedRect(rect, RADIUS, RADIUS)
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.top(), rect.width(), header_h))
        painter.setBrush(QBrush(colour))
        painter.drawPath(header.intersected(clip))
        if self.step_role is not None:
            self._paint_done_bar(painter, header)
        self._paint_text(painter, header_h, text_on(colour))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(self._outline_pen())
        painter.drawRoundedRect(rect, RADIUS, RADIUS)

    def _paint_glow(self, painter: QPainter) -> None:
        """A soft halo in the pass's colour around the current node."""
        glow = step_mark(self.step_phase)
        rings = 4
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for ring in range(rings, 0, -1):
            reach = GLOW * ring / rings
            glow.setAlphaF(0.10 + 0.5 * (1 - ring / rings))
            painter.setPen(QPen(glow, GLOW / rings + 0.5))
            painter.drawRoundedRect(self._rect.adjusted(-reach, -reach, reach, reach),
                                    RADIUS + reach, RADIUS + reach)

    def _paint_done_bar(self, painter: QPainter, box: QPainterPath) -> None:
        """A thin bar along the bottom: this node's step of the pass has been shown."""
        rect = self._rect
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.bottom() - DONE_BAR, rect.width(), DONE_BAR))
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(FORWARD_MARK if self.step_phase != "backward"
                                else BACKWARD_MARK))
        painter.drawPath(box.intersected(clip))

    @property
    def incomplete(self) -> bool:
        """In error only because wires are still missing (drawn dashed: not wrong, unfinished)."""
        return self.error is not None and self.missing_inputs > 0

    def _outline_pen(self) -> QPen:
        if self.error:
            pen = QPen(canvas("error"), 3.0 if self.incomplete else 3.5)
            if self.incomplete:
                pen.setStyle(Qt.PenStyle.DashLine)
            return pen
        if self.isSelected():
            return QPen(canvas("selection"), line_width(3.0))
        if self.step_role == "active":
            return QPen(step_mark(self.step_phase), line_width(2.5))
        return QPen(mix(canvas("node_text"), canvas("node"), 0.2), line_width(1.2))

    def _paint_text(self, painter: QPainter, header_h: float, title_colour: QColor) -> None:
        rect, line = self._rect, self._line_height()
        inner = rect.adjusted(PAD, 0, -PAD, 0)
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(canvas_font(True))
        painter.setPen(title_colour)
        title_rect = QRectF(inner.left(), rect.top(), inner.width(), header_h)
        painter.drawText(title_rect, left, self._elided(self.title, inner.width(), True))
        painter.setFont(canvas_font())
        painter.setPen(canvas("node_text") if self.trainable else muted_text())
        id_rect = QRectF(inner.left(), rect.top() + header_h + PAD / 2, inner.width(), line)
        painter.drawText(id_rect, left, self._elided(self.node_id, inner.width()))
        painter.setPen(canvas("error") if self.error else muted_text())
        for index, text in enumerate(self._info_lines):
            painter.drawText(id_rect.translated(0, line * (index + 1)), left, text)

    @staticmethod
    def _elided(text: str, width: float, bold: bool = False) -> str:
        metrics = QFontMetricsF(canvas_font(bold))
        return metrics.elidedText(text, Qt.TextElideMode.ElideRight, width)

    # -- step-through and verification marks ------------------------------
    def set_step_role(self, role: str | None, phase: str | None = None) -> None:
        """"active" (glows), "done" (a bar along the bottom) or None, in `phase`."""
        if (role, phase) != (self.step_role, self.step_phase):
            self.step_role, self.step_phase = role, phase
            self.update()

    def set_sum_badge(self, on: bool) -> None:
        """The "+" by the output port: gradients from several consumers are added here."""
        if on and self.sum_badge is None:
            self.sum_badge = SumBadge(self)
            self._place_badges()
        elif not on and self.sum_badge is not None:
            remove_from_scene(self.sum_badge)
            self.sum_badge = None

    def set_verify_badge(self, ok: bool | None, text: str = "", tooltip: str = "") -> None:
        """A tick (ok) or red cross with `text` above the node; None removes it."""
        if self.verify_badge is not None:
            remove_from_scene(self.verify_badge)
            self.verify_badge = None
        if ok is not None:
            self.verify_badge = VerifyBadge(self, ok, text, tooltip)
            self._place_badges()

    def _place_badges(self) -> None:
        rect = self._rect
        if self.sum_badge is not None:
            self.sum_badge.setPos(rect.right() + 14.0, 20.0)  # below: labels sit above
        if self.verify_badge is not None:
            badge = self.verify_badge.rect()
            self.verify_badge.setPos(rect.right() - badge.width() + 6.0,
                                     rect.top() - badge.height() + 2.0)

    # -- moves ----------------------------------------------------------
    def itemChange(self, change, value):
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange:
            repaint_where_it_is(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            scene = self.scene()
            if scene is not None and hasattr(scene, "node_moved"):
                scene.node_moved(self)
        elif change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.update()
        return super().itemChange(change, value)
