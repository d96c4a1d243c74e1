"""Tensors as PNG heatmaps: one picture per tensor, one tile per channel, a colour bar.

Colours as in the step-through view: gradients and parameters with CET-D1
centred on zero (±max|v| of the tensor), activations with viridis (min to
max); one scale for all tiles of a picture. Batch tensors show one sample.
What becomes a tile: [C, H, W] → C maps; [H, W] → one; a vector → one map,
wrapped into rows of 32; a conv weight [M, N, K1, K2] → the kernels M×N (up
to MAX_TILES of them); a dense weight [M, N] → one map. Maps of at most 8×8
print their values in the cells.

Files: `<node>__<kind>[__<name>].png` (characters other than letters, digits,
'-' and '.' in a node id become '_').
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QImage, QPainter

from bpviz.engine.shape_text import shape_text
from bpviz.export.base import Exporter, Progress, ensure_app, png_bytes
from bpviz.export.colours import (
    DIVERGING,
    SEQUENTIAL,
    colour_at,
    colour_image,
    levels,
    paint_colour_bar,
    short_number,
)
from bpviz.export.paint import font as figure_font
from bpviz.export.tensors import collect_tensors, has_batch_axis, is_gradient, split_key

MAX_TILES = 64
WRAP = 32
NUMBERS_UP_TO = 8
MARGIN, GAP, TITLE_H, BAR_H = 16, 12, 34, 64
THEMES = {"light": ("#ffffff", "#1a1a1a", "#555555"), "dark": ("#1b1b1b", "#f0f0f0", "#b4b4b4")}


def tiles_of(key: str, value: np.ndarray, sample: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """The 2-D maps a tensor is drawn as, with a title for each."""
    array = np.asarray(value, dtype=np.float64)
    if has_batch_axis(key) and array.ndim >= 1:
        array = array[min(sample, array.shape[0] - 1)]
    kind = split_key(key)[1]
    if array.ndim == 0:
        return [array.reshape(1, 1)], [""]
    if array.ndim == 1:
        return [_wrapped(array)], [""]
    if array.ndim == 2:
        return [array], [""]
    if array.ndim == 3:
        return list(array[:MAX_TILES]), [f"channel {c}" for c in range(min(len(array),
                                                                            MAX_TILES))]
    maps = array.reshape(-1, *array.shape[-2:])[:MAX_TILES]
    width = array.shape[1]
    titles = [f"{'out' if kind in ('param', 'grad') else 'map'} {k // width}, in {k % width}"
              for k in range(len(maps))]
    return list(maps), titles


def _wrapped(vector: np.ndarray) -> np.ndarray:
    if vector.size <= WRAP:
        return vector.reshape(1, -1)
    rows = math.ceil(vector.size / WRAP)
    padded = np.full(rows * WRAP, np.nan)
    padded[:vector.size] = vector
    return padded.reshape(rows, WRAP)


def file_name(key: str) -> str:
    node, kind, name = split_key(key)
    parts = [re.sub(r"[^A-Za-z0-9.-]", "_", node)[:80], kind] + ([name] if name else [])
    return "__".join(parts) + ".png"


@dataclass(frozen=True)
class _Grid:
    """Where the tiles go: cell size, columns and rows, tile and picture sizes."""

    cell: int
    columns: int
    tile_w: float
    tile_h: float
    width: float
    height: float

    @staticmethod
    def of(maps: list[np.ndarray]) -> _Grid:
        height, width = maps[0].shape
        cell = max(3, min(40, (480 if len(maps) == 1 else 240) // max(height, width)))
        columns = max(1, min(len(maps), math.ceil(math.sqrt(len(maps) * 2))))
        rows = math.ceil(len(maps) / columns)
        tile_w, tile_h = max(width * cell, 90), height * cell + 20
        return _Grid(cell, columns, tile_w, tile_h,
                     max(2 * MARGIN + columns * tile_w + (columns - 1) * GAP, 360),
                     TITLE_H + MARGIN + rows * tile_h + (rows - 1) * GAP + BAR_H)

    def tile(self, k: int) -> QRectF:
        row, col = divmod(k, self.columns)
        return QRectF(MARGIN + col * (self.tile_w + GAP),
                      TITLE_H + MARGIN + row * (self.tile_h + GAP), self.tile_w, self.tile_h)


def heatmap_grid(key: str, value: np.ndarray, sample: int = 0) -> _Grid:
    """Where a tensor's tiles go, and its picture's size at scale 1."""
    return _Grid.of(tiles_of(key, value, sample)[0])


def heatmap_image(key: str, value: np.ndarray, sample: int = 0, theme: str = "light",
                  scale: float = 1.0) -> QImage:
    """One tensor's picture: a title, its tiles and a colour bar."""
    ensure_app()
    background, text, muted = (QColor(c) for c in THEMES[theme])
    maps, titles = tiles_of(key, value, sample)
    diverging = is_gradient(key) or split_key(key)[1] == "param"
    name = DIVERGING if diverging else SEQUENTIAL
    low, high = levels(np.concatenate([m.ravel() for m in maps]), diverging)
    grid = _Grid.of(maps)
    image = QImage(math.ceil(grid.width * scale), math.ceil(grid.height * scale),
                   QImage.Format.Format_RGB32)
    image.fill(background)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setFont(figure_font(12, True))
        painter.setPen(text)
        shape = shape_text(np.shape(value))
        where = f" · sample {sample}" if has_batch_axis(key) else ""
        painter.drawText(QRectF(MARGIN, 8, grid.width - 2 * MARGIN, 24),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         f"{key}  ({shape}){where}")
        for k, (values, title) in enumerate(zip(maps, titles)):
            _tile(painter, grid.tile(k), values, title, grid.cell, (name, low, high), muted)
        ticks = [(0.0, short_number(low)), (0.5, short_number((low + high) / 2)),
                 (1.0, short_number(high))]
        bar = QRectF(MARGIN, grid.height - BAR_H + 26, min(300, grid.width - 2 * MARGIN), 12)
        label = "gradient (0 in the middle)" if is_gradient(key) else (
            "parameter (0 in the middle)" if diverging else "activation")
        paint_colour_bar(painter, bar, name, ticks, label, text, figure_font(10))
    finally:
        painter.end()
    return image


def _tile(painter: QPainter, rect: QRectF, values: np.ndarray, title: str, cell: int,
          colour_map: tuple[str, float, float], muted: QColor) -> None:
    name, low, high = colour_map
    height, width = values.shape
    painter.setFont(figure_font(9))
    painter.setPen(muted)
    painter.drawText(QRectF(rect.left(), rect.top(), rect.width(), 18),
                     Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, title)
    target = QRectF(rect.left(), rect.top() + 20, width * cell, height * cell)
    painter.drawImage(target, colour_image(values, name, low, high))
    if max(height, width) > NUMBERS_UP_TO or cell < 28:
        return
    painter.setFont(figure_font(7.5))
    metrics = QFontMetricsF(painter.font(), painter.device())
    for (i, j), value in np.ndenumerate(values):
        if not np.isfinite(value):
            continue
        colour = colour_at(name, (value - low) / (high - low))
        light = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue() > 140
        painter.setPen(QColor("black") if light else QColor("white"))
        cell_rect = QRectF(target.left() + j * cell, target.top() + i * cell, cell, cell)
        text = cell_number(float(value))
        if metrics.horizontalAdvance(text) > cell - 2:
            text = f"{value:.0e}".replace("e-0", "e-")
        painter.drawText(cell_rect, Qt.AlignmentFlag.AlignCenter, text)


def cell_number(value: float) -> str:
    """As short as a cell needs: 2 significant digits, no leading zero, 3e-4 below 0.01."""
    if value == 0:
        return "0"
    if abs(value) < 0.01:
        return f"{value:.0e}".replace("e-0", "e-")
    text = f"{value:.2g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


class HeatmapExporter(Exporter):
    """A folder of PNGs: one per tensor (all of them, or those of `keys`)."""

    extensions = ("",)

    def __init__(self, source, keys: list[str] | None = None, sample: int = 0,
                 theme: str = "light", scale: float = 1.0,
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        tensors = dict(source) if isinstance(source, dict) else collect_tensors(source)
        self.tensors = {k: v for k, v in tensors.items()
                        if (keys is None or k in keys) and np.ndim(v) > 0}
        self.sample, self.theme, self.scale = sample, theme, scale

    def data(self) -> dict[str, QImage]:
        images = {}
        for done, (key, value) in enumerate(self.tensors.items()):
            self.report(done, len(self.tensors))
            images[file_name(key)] = heatmap_image(key, value, self.sample, self.theme,
                                                   self.scale)
        return images

    def encode(self, data: dict[str, QImage]) -> dict[str, bytes]:
        return {name: png_bytes(image) for name, image in data.items()}
