"""Colour maps and colour bars of the exports: the app's maps, from pyqtgraph's tables.

Tensors as the step-through heatmaps show them: activations with a
sequential map (viridis, min to max), gradients and parameters with the
diverging CET-D1 centred on zero (±max|v|). Wires at a step use the canvas's
own ramp (bpviz.scene.colours.norm_colour, the warm half of CET-D1).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

DIVERGING, SEQUENTIAL = "CET-D1", "viridis"
GREY = "CET-L1"  # input pictures, as the Receptive field panel shows them


@lru_cache(maxsize=16)
def lut(name: str, points: int = 256) -> np.ndarray:
    """(points, 3) uint8 RGB of pyqtgraph's colour map `name`."""
    import pyqtgraph as pg

    table = pg.colormap.get(name).getLookupTable(nPts=points, alpha=False)
    return np.ascontiguousarray(table[:, :3], dtype=np.uint8)


def colour_at(name: str, t: float) -> QColor:
    table = lut(name)
    r, g, b = table[int(round(min(max(t, 0.0), 1.0) * (len(table) - 1)))]
    return QColor(int(r), int(g), int(b))


def levels(values: np.ndarray, diverging: bool) -> tuple[float, float]:
    """The range a map spans: ±max|v| for diverging maps, min … max otherwise."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (-1.0, 1.0) if diverging else (0.0, 1.0)
    if diverging:
        top = float(np.max(np.abs(finite)))
        return (-top, top) if top > 0 else (-1.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def colour_image(values: np.ndarray, name: str, low: float, high: float) -> QImage:
    """A 2-D array as an RGB QImage, one pixel per value (NaN: mid grey)."""
    table = lut(name)
    scaled = (np.asarray(values, dtype=np.float64) - low) / (high - low)
    index = np.clip(np.nan_to_num(scaled, nan=0.5) * (len(table) - 1), 0, len(table) - 1)
    rgb = table[np.round(index).astype(np.intp)]
    rgb[~np.isfinite(values)] = (128, 128, 128)
    height, width = rgb.shape[:2]
    rgb = np.ascontiguousarray(rgb)
    image = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888)
    return image.copy()  # own the pixels: the array goes away


def short_number(value: float) -> str:
    """Three significant digits, as short as they go: 0.0431, -1.2, 3.1e-05."""
    if value == 0:
        return "0"
    return f"{value:.3g}"


def paint_colour_bar(painter: QPainter, rect: QRectF, colours: str | Callable[[float], QColor],
                     ticks: list[tuple[float, str]], title: str, text: QColor,
                     font: QFont) -> None:
    """A horizontal colour bar in `rect` with its title above and ticks below.

    colours: a pyqtgraph map name, or a function 0 … 1 → QColor.
    ticks: (position 0 … 1 along the bar, label).
    """
    colour = (lambda t: colour_at(colours, t)) if isinstance(colours, str) else colours
    steps = max(int(rect.width()), 2)
    image = QImage(steps, 1, QImage.Format.Format_RGB32)
    for x in range(steps):
        image.setPixelColor(x, 0, colour(x / (steps - 1)))
    painter.save()
    painter.setFont(font)
    painter.setPen(text)
    metrics_h = painter.fontMetrics().height()
    title_rect = QRectF(rect.left(), rect.top() - metrics_h - 2, rect.width() + 200, metrics_h)
    painter.drawText(title_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom, title)
    painter.drawImage(rect, image)
    painter.setPen(QPen(text, 1.0))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(rect)
    for position, label in ticks:
        x = rect.left() + position * rect.width()
        painter.drawLine(QPointF(x, rect.bottom()), QPointF(x, rect.bottom() + 4))
        width = painter.fontMetrics().horizontalAdvance(label) + 4
        left = min(max(x - width / 2, rect.left() - 6), rect.right() + 6 - width)
        painter.drawText(QRectF(left, rect.bottom() + 5, width, metrics_h),
                         Qt.AlignmentFlag.AlignCenter, label)
    painter.restore()
