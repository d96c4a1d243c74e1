"""The canvas's font: node titles and shapes, wire labels and badges share one size."""

from __future__ import annotations

from PySide6.QtGui import QFont

FONT_POINTS = 11.0
_scale = 1.0  # presentation mode enlarges the canvas's text


def set_font_scale(scale: float) -> None:
    """Canvas text at `scale` × FONT_POINTS from now on (items made afterwards)."""
    global _scale
    _scale = scale


def canvas_font(bold: bool = False) -> QFont:
    font = QFont()
    font.setPointSizeF(FONT_POINTS * _scale)
    font.setBold(bold)
    return font
