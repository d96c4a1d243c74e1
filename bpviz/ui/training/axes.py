"""The training plots' axes: the tick font, and a log axis whose labels stay readable.

A log axis spanning two decades or more labels only the powers of ten. Over
less, it labels the steps between them too, but in a short plot (e.g. the
panel tabbed beside the formula) only 1, 2 and 5 times a power of ten, so the
labels do not run into each other.
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

LABEL_SPACING = 1.3  # a label's room along the axis, in lines of the tick font
ROUND_STEPS = (1, 2, 5)  # the steps labelled when all would not fit


def tick_font() -> QFont:
    font = QFont(QApplication.font())
    font.setPointSizeF(max(font.pointSizeF(), 9.0))
    return font


def round_step(log_value: float) -> bool:
    """10 ** log_value is 1, 2 or 5 times a power of ten."""
    mantissa = 10.0 ** (log_value - math.floor(log_value + 1e-9))
    return any(abs(mantissa - step) < 1e-6 for step in ROUND_STEPS)


class LogAxis(pg.AxisItem):
    """A log axis that labels only the powers of ten when it spans more than one."""

    def tickStrings(self, values, scale, spacing):
        strings = super().tickStrings(values, scale, spacing)
        if not self.logMode:
            return strings
        decades = [abs(v - round(v)) < 1e-9 for v in values]
        if sum(decades) >= 2:
            return [f"{10.0 ** round(v):g}" if whole else ""
                    for v, whole in zip(values, decades)]
        if len(values) * LABEL_SPACING * QFontMetricsF(tick_font()).height() > self._length():
            return [text if round_step(v) else "" for v, text in zip(values, strings)]
        return strings

    def _length(self) -> float:
        """The axis's length on screen, in pixels."""
        size = self.geometry()
        return size.height() if self.orientation in ("left", "right") else size.width()
