"""How the canvas draws a group of nodes: folded, one box; unfolded, a frame around them.

GroupBox stands for a folded group: its name, input and output shapes,
parameter count and the receptive field at its end; wires into and out of
the group attach to its ports. While a pass steps inside the group the box
glows and names the node it is at ("layer3 · layer3.2.conv2"). GroupFrame is
a labelled rounded rectangle behind an unfolded group's nodes.
Double-clicking either one folds or unfolds the group.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from bpviz.graph.groups import GroupSummary
from bpviz.scene.colours import canvas, mix, muted_text, step_mark
from bpviz.scene.fonts import canvas_font
from bpviz.scene.labels import group_lines
from bpviz.scene.node_item import DONE_BAR, GLOW, PAD, RADIUS, RoundedBoxItem, prepare_resize

GROUP_COLOUR = QColor("#6a5acd")  # the header of a folded group
MIN_WIDTH = 190.0
MAX_WIDTH = 320.0
PORT_GAP = 24.0
PORT_RADIUS = 5.0
FRAME_MARGIN = 22.0


def toggle(item: QGraphicsItem, name: str, folded: bool) -> None:
    """Ask the scene's model to fold or unfold `name` (a read-only model cannot)."""
    scene = item.scene()
    fold = getattr(getattr(scene, "model", None), "set_group_folded", None)
    if fold is not None:
        fold(name, folded)


class GroupBox(RoundedBoxItem):
    def __init__(self, summary: GroupSummary) -> None:
        super().__init__()
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(1)
        self._rect = QRectF()
        self.summary = summary
        self.lines: list[str] = []
        self.current: str | None = None  # the inner node a pass is at
        self.step_role: str | None = None
        self.step_phase: str | None = None
        self.set_summary(summary)

    @property
    def name(self) -> str:
        return self.summary.name

    def set_summary(self, summary: GroupSummary) -> None:
        self.summary = summary
        self.lines = group_lines(summary)
        self._relayout()

    def set_step(self, role: str | None, phase: str | None, current: str | None) -> None:
        if (role, phase, current) != (self.step_role, self.step_phase, self.current):
            prepare_resize(self)
            self.step_role, self.step_phase, self.current = role, phase, current
            self._relayout()

    def caption(self) -> str:
        """"layer3 · layer3.2.conv2" while a pass is inside, else the group's name."""
        return f"{self.name} · {self.current}" if self.current else self.name

    def _line(self) -> float:
        return QFontMetricsF(canvas_font()).height()

    def _relayout(self) -> None:
        bold, plain = QFontMetricsF(canvas_font(True)), QFontMetricsF(canvas_font())
        wanted = max([bold.horizontalAdvance(self.caption())]
                     + [plain.horizontalAdvance(text) for text in self.lines])
        width = min(MAX_WIDTH, max(MIN_WIDTH, wanted + 2 * PAD))
        ports = max(len(self.summary.sources), 1)
        height = max((len(self.lines) + 1) * self._line() + 3 * PAD, (ports + 1) * PORT_GAP)
        rect = QRectF(-width / 2, -height / 2, width, height)
        if rect != self._rect:
            prepare_resize(self)
            self._rect = rect
        self.setToolTip(f"group {self.name}: {len(self.summary.members)} nodes, "
                        f"{self.summary.params:,} parameters; double-click to unfold")
        self.update()

    # -- geometry -------------------------------------------------------
    def in_port_pos(self, index: int) -> QPointF:
        """Scene position of the port where the group's `index`-th source comes in."""
        count = max(len(self.summary.sources), 1)
        index = min(max(index, 0), count - 1)
        y = self._rect.top() + self._rect.height() * (index + 1) / (count + 1)
        return self.mapToScene(QPointF(self._rect.left(), y))

    def out_port_pos(self) -> QPointF:
        return self.mapToScene(QPointF(self._rect.right(), 0.0))

    def port_positions(self) -> list[QPointF]:
        """Scene positions of every port drawn on the box."""
        count = max(len(self.summary.sources), 1)
        return [self.in_port_pos(index) for index in range(count)] + [self.out_port_pos()]

    # -- painting -------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect, line = self._rect, self._line()
        mark = step_mark(self.step_phase)
        if self.step_role == "active":
            for ring in range(4, 0, -1):
                reach = GLOW * ring / 4
                glow = QColor(mark)
                glow.setAlphaF(0.10 + 0.5 * (1 - ring / 4))
                painter.setPen(QPen(glow, GLOW / 4 + 0.5))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(rect.adjusted(-reach, -reach, reach, reach),
                                        RADIUS + reach, RADIUS + reach)
        # A second outline behind the box: a stack of nodes.
        painter.setPen(QPen(mix(canvas("node_text"), canvas("node"), 0.5), 1.0))
        painter.setBrush(QBrush(canvas("node")))
        painter.drawRoundedRect(rect.translated(4, 4), RADIUS, RADIUS)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        header_h = line + PAD
        box = QPainterPath()
        box.addRoundedRect(rect, RADIUS, RADIUS)
        clip = QPainterPath()
        clip.addRect(QRectF(rect.left(), rect.top(), rect.width(), header_h))
        painter.setBrush(QBrush(GROUP_COLOUR))
        painter.drawPath(box.intersected(clip))
        if self.step_role is not None:
            bar = QPainterPath()
            bar.addRect(QRectF(rect.left(), rect.bottom() - DONE_BAR, rect.width(), DONE_BAR))
            painter.setBrush(mark)
            painter.drawPath(box.intersected(bar))
        inner = rect.adjusted(PAD, 0, -PAD, 0)
        left = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        painter.setFont(canvas_font(True))
        painter.setPen(QColor("white"))
        elide = QFontMetricsF(canvas_font(True)).elidedText
        painter.drawText(QRectF(inner.left(), rect.top(), inner.width(), header_h), left,
                         elide(("▶ " if self.current else "⊞ ") + self.caption(),
                               Qt.TextElideMode.ElideMiddle, inner.width()))
        painter.setFont(canvas_font())
        painter.setPen(canvas("error") if self.summary.errors else muted_text())
        row = QRectF(inner.left(), rect.top() + header_h + PAD / 2, inner.width(), line)
        for index, text in enumerate(self.lines):
            painter.drawText(row.translated(0, line * index), left, text)
        pen = QPen(mix(canvas("node_text"), canvas("node"), 0.2), 1.2)
        if self.isSelected():
            pen = QPen(canvas("selection"), 3.0)
        elif self.step_role == "active":
            pen = QPen(mark, 2.5)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(canvas("wire")))
        for index in range(max(len(self.summary.sources), 1)):
            port = self.mapFromScene(self.in_port_pos(index))
            painter.drawEllipse(port, PORT_RADIUS, PORT_RADIUS)
        painter.drawEllipse(QPointF(rect.right(), 0.0), PORT_RADIUS, PORT_RADIUS)

    def mouseDoubleClickEvent(self, event) -> None:
        toggle(self, self.name, False)
        event.accept()


class GroupFrame(QGraphicsItem):
    """An unfolded group: a tinted rounded rectangle around its nodes, named at the top."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.setZValue(-2)
        self._rect = QRectF()
        self._parts: list[QRectF] = []
        self.setToolTip(f"group {name}: double-click its name to fold it into one box")

    def fit(self, rects: list[QRectF]) -> None:
        """Surround the member boxes given in scene coordinates: one rounded rectangle
        per row they lie in (a group the layout wraps onto two rows gets two)."""
        label = QFontMetricsF(canvas_font(True)).height() + 6
        rows: list[QRectF] = []
        for rect in sorted(rects, key=lambda r: (r.top(), r.left())):
            for index, row in enumerate(rows):
                if rect.top() < row.bottom() and rect.bottom() > row.top():
                    rows[index] = row.united(rect)
                    break
            else:
                rows.append(QRectF(rect))
        parts = [row.adjusted(-FRAME_MARGIN, -FRAME_MARGIN - (label if i == 0 else 0),
                              FRAME_MARGIN, FRAME_MARGIN) for i, row in enumerate(rows)]
        if parts != self._parts:
            prepare_resize(self)
            self._parts = parts
            self._rect = QRectF()
            for part in parts:
                self._rect = self._rect.united(part)
            self.update()
        self.setVisible(bool(parts))

    def rect(self) -> QRectF:
        return QRectF(self._rect)

    def boundingRect(self) -> QRectF:
        return self._rect.adjusted(-2, -2, 2, 2)

    def label_rect(self) -> QRectF:
        """The group's name, at the top left of its first row."""
        first = self._parts[0] if self._parts else self._rect
        height = QFontMetricsF(canvas_font(True)).height() + 6
        width = QFontMetricsF(canvas_font(True)).horizontalAdvance(f"⊟ {self.name}") + 16
        return QRectF(first.left(), first.top(), width, height)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRect(self.label_rect())  # only the name takes clicks
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(GROUP_COLOUR)
        fill.setAlphaF(0.07)
        edge = QColor(GROUP_COLOUR)
        edge.setAlphaF(0.6)
        painter.setPen(QPen(edge, 1.5, Qt.PenStyle.DashLine))
        painter.setBrush(QBrush(fill))
        for part in self._parts:
            painter.drawRoundedRect(part, RADIUS * 2, RADIUS * 2)
        painter.setFont(canvas_font(True))
        painter.setPen(edge.darker(130) if canvas("background").lightnessF() > 0.5
                       else edge.lighter(150))
        painter.drawText(self.label_rect().adjusted(10, 0, 0, 0),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"⊟ {self.name}")

    def mouseDoubleClickEvent(self, event) -> None:
        toggle(self, self.name, True)
        event.accept()
