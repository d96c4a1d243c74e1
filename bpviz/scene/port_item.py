"""PortItem: the small circle on a node where a wire starts (output) or ends (input)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem, QGraphicsItem

from bpviz.scene.colours import canvas, mix

PORT_RADIUS = 6.0
HIT_RADIUS = 11.0  # easier to hit with a mouse than the circle itself


class PortItem(QGraphicsEllipseItem):
    """kind is "in" or "out"; index is the input port number (0 for the output)."""

    def __init__(self, parent: QGraphicsItem, kind: str, index: int = 0) -> None:
        r = PORT_RADIUS
        super().__init__(QRectF(-r, -r, 2 * r, 2 * r), parent)
        self.kind = kind
        self.index = index
        self.connected = False
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setZValue(2)
        self._restyle()

    @property
    def node_id(self) -> str:
        return self.parentItem().node_id

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self._restyle()

    def set_highlight(self, on: bool) -> None:
        if on != self._hover:
            self._hover = on
            self._restyle()

    def _restyle(self) -> None:
        """Colours of the theme in use: free ports are hollow, used ones filled."""
        colour = (canvas("selection") if self._hover else canvas("wire") if self.connected
                  else canvas("node"))
        self.setPen(QPen(mix(canvas("node_text"), canvas("node"), 0.2), 1.5))
        self.setBrush(QBrush(colour))

    def restyle(self) -> None:
        self._restyle()

    def scene_centre(self) -> QPointF:
        return self.mapToScene(QPointF(0, 0))

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(QPointF(0, 0), HIT_RADIUS, HIT_RADIUS)
        return path

    def boundingRect(self) -> QRectF:
        h = HIT_RADIUS
        return QRectF(-h, -h, 2 * h, 2 * h)

    def hoverEnterEvent(self, event) -> None:
        self.set_highlight(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:
        self.set_highlight(False)
        super().hoverLeaveEvent(event)

    def describe(self) -> str:
        return "output" if self.kind == "out" else f"input {self.index}"
