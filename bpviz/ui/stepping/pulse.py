"""Dots that travel along wires: a value flowing forward, a gradient flowing back.

`Pulses.run(scene, wires, backward)` moves one dot along each given wire in
DURATION_MS, from the source to the consumer in forward and from the
consumer back to the source in backward; the dot's colour is the wire's
gradient colour when it has one. A new run stops the one before. Nothing
moves when the step comes too soon after the last one (fast stepping or
playing above MAX_ANIMATED_SPEED): the picture just jumps.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEasingCurve, QElapsedTimer, QObject, QRectF, QVariantAnimation
from PySide6.QtGui import QBrush, QColor, QPen
from PySide6.QtWidgets import QGraphicsEllipseItem

from bpviz.scene.colours import FORWARD_MARK

DURATION_MS = 380
MAX_ANIMATED_SPEED = 3.0  # steps per second
DOT_RADIUS = 7.0


class Pulses(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.enabled = True
        self.dots: list[QGraphicsEllipseItem] = []
        self._paths: list = []
        self._animation = QVariantAnimation(self)
        self._animation.setStartValue(0.0)
        self._animation.setEndValue(1.0)
        self._animation.setDuration(DURATION_MS)
        self._animation.setEasingCurve(QEasingCurve.Type.InOutQuad)
        self._animation.valueChanged.connect(self._move)
        self._animation.finished.connect(self.stop)
        self._since_last = QElapsedTimer()

    @property
    def running(self) -> bool:
        return bool(self.dots)

    def too_fast(self, steps_per_second: float | None = None) -> bool:
        """Stepping faster than the animation can show (or playing too fast)."""
        if steps_per_second is not None and steps_per_second > MAX_ANIMATED_SPEED:
            return True
        return self._since_last.isValid() and self._since_last.elapsed() < DURATION_MS * 0.6

    def run(self, wires: list, backward: bool, steps_per_second: float | None = None) -> bool:
        """Start the dots; False (nothing moves) when disabled, too fast or no wires."""
        self.stop()
        fast = self.too_fast(steps_per_second)
        self._since_last.restart()
        if not self.enabled or fast or not wires:
            return False
        for wire in wires:
            path = wire.path()
            if backward:
                path = path.toReversed()
            self._paths.append(path)
            self.dots.append(self._dot(wire, wire.scene()))
        self._move(0.0)
        self._animation.start()
        return True

    def stop(self) -> None:
        self._animation.stop()
        for dot in self.dots:
            if shiboken6.isValid(dot) and dot.scene() is not None:  # a rebuilt scene
                dot.scene().removeItem(dot)  # has deleted its items already
        self.dots, self._paths = [], []

    def _dot(self, wire, scene) -> QGraphicsEllipseItem:
        r = DOT_RADIUS
        dot = QGraphicsEllipseItem(QRectF(-r, -r, 2 * r, 2 * r))
        colour = wire.grad_colour if wire.grad_colour is not None else QColor(FORWARD_MARK)
        dot.setBrush(QBrush(colour))
        dot.setPen(QPen(QColor("#ffffff"), 2.0))
        dot.setZValue(6)
        scene.addItem(dot)
        return dot

    def _move(self, value) -> None:
        t = min(max(float(value), 0.0), 1.0)
        for dot, path in zip(self.dots, self._paths):
            if shiboken6.isValid(dot):
                dot.setPos(path.pointAtPercent(t))
