"""The canvas's font: node titles and shapes, wire labels and badges share one size."""

from __future__ import annotations

from PySide6.QtGui import QFont

FONT_POINTS = 11.0


def canvas_font(bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(FONT_POINTS)
    font.setBold(bold)
    return font
