"""A grid of heatmaps with one colour bar, updated in place.

HeatmapGrid shows a list of equally shaped 2-D maps, one ViewBox and one
ImageItem each. `show_maps` rebuilds the scene only when the layout changes
(number of maps, columns, whether numbers are printed, square or not); a new
shape with the same layout only re-ranges the boxes, and a step with the
same shape only swaps the pixels, so stepping is fast. A map is drawn with
no more pixels than its box has on screen (MIN_DRAWN_SIDE to MAX_DRAWN_SIDE
per side): a larger one as the means of blocks of its cells (`block` says
how large; tensor_summary.reduce_map), its box still in the map's cells, so
hovering and clicking read every value. map_layout computes
the layout: the number of columns is the one that makes the maps largest in
the widget (a resize re-lays them out, and `resized` first lets the owner
choose how many maps to show: `fitting_map_count` counts those the widget
draws at least MIN_MAP_SIDE pixels wide). Boxes are as tall as their maps,
so a title sits on its map and the height left over goes under the grid. A
title that is wider than its column gives way to its short form ("c12" for
"channel 12"), leaving the pixels to the maps. Maps of at most NUMBERS_UP_TO
× NUMBERS_UP_TO cells print their values when a cell has room for them
(MIN_NUMBER_CELL pixels); the text is scaled to the cell, so it grows with
the view.

Colour: `diverging` maps use CET-D1 with levels ±max|v| (zero is the middle
colour); others use viridis from min to max; the owner may pass the levels
of a whole tensor of which it shows a page. The colour bar is labelled at
its ends (and at zero), whatever the scale. `hovered(str)` describes the cell
under the mouse, `cell_clicked(k, row, col)` which cell was clicked and
`clicked(k)` which map was double-clicked. Background, titles
and axes follow the app's theme (`apply_theme`: the owner redraws, and the
items are rebuilt in its colours).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QGraphicsSimpleTextItem, QGraphicsWidget, QSizePolicy

from bpviz.export.colours import DIVERGING, SEQUENTIAL
from bpviz.ui.stepping.bars import short_number
from bpviz.ui.stepping.map_layout import (
    MARGIN,
    PADDING,
    SPACING,
    TITLE_HEIGHT,
    TITLE_SIZE,
    colour_bar_axis_width,
    colour_bar_ticks,
    column_width,
    grid_layout,
    maps_that_fit,
    prints_numbers,
    titles_too_wide,
)
from bpviz.ui.stepping.plot_theme import PlotColours, plot_colours
from bpviz.workspace.tensor_summary import reduce_map, summarise

MIN_DRAWN_SIDE, MAX_DRAWN_SIDE = 32, 256  # pixels of a map's picture, per side


def drawn_side(side: float) -> int:
    """The most pixels a map's picture has per side when its box is `side` wide: no
    more than the screen shows, at least MIN_DRAWN_SIDE, at most MAX_DRAWN_SIDE."""
    return int(min(max(math.ceil(side), MIN_DRAWN_SIDE), MAX_DRAWN_SIDE))


def text_colour(cmap: pg.ColorMap, fraction: float) -> QColor:
    colour = cmap.map(min(max(fraction, 0.0), 1.0), mode="qcolor")
    luminance = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return QColor("black") if luminance > 140 else QColor("white")


class HeatmapGrid(pg.GraphicsLayoutWidget):
    hovered = Signal(str)
    resized = Signal()  # before the maps are re-laid out: the owner may show others
    clicked = Signal(int)  # the index of the double-clicked map in the list shown
    cell_clicked = Signal(int, int, int)  # map index in the list shown, row, column

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours: PlotColours = plot_colours()
        self.setBackground(self.colours.background)
        self.ci.layout.setSpacing(SPACING)
        self.ci.layout.setContentsMargins(MARGIN, MARGIN, MARGIN, MARGIN)
        self.images: list[pg.ImageItem] = []
        self.boxes: list[pg.ViewBox] = []
        self.titles: list[pg.LabelItem] = []
        self.numbers: list[list[QGraphicsSimpleTextItem]] = []
        self.colour_bar: pg.ColorBarItem | None = None
        self.columns = 1
        self.compact = False  # the titles are the short ones
        self._bar_levels: tuple[float, float] | None = None
        self._signature: tuple | None = None
        self._shape: tuple | None = None
        self._describe = None  # (map index, row, col, value) → str
        self._data: list[np.ndarray] = []
        self._shown: tuple | None = None  # the last show_maps arguments, for a resize
        self._drawn_side = MAX_DRAWN_SIDE
        self.block = (1, 1)  # the last map was drawn as means of blocks this large
        self.picture_shape: tuple[int, ...] = (0, 0)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    def apply_theme(self, theme) -> None:
        """Take the theme's colours; the next show_maps rebuilds the items."""
        self.colours = plot_colours(theme)
        self.setBackground(self.colours.background)
        self._signature = None

    # -- maps -------------------------------------------------------------
    def fitting_map_count(self, shape: tuple[int, int], most: int) -> int:
        """How many maps of `shape` (1 … most) the widget draws large enough to read."""
        return maps_that_fit(shape, self.width(), self.height(), most)

    def show_maps(self, maps: list[np.ndarray], titles: list[str], diverging: bool,
                  describe=None, levels: tuple[float, float] | None = None,
                  short_titles: list[str] | None = None,
                  pictures: list[tuple[np.ndarray, tuple[int, int]] | None] | None = None
                  ) -> bool:
        """Show equally shaped 2-D maps (coloured over `levels`, by default their own
        range) under `titles`, or `short_titles` when those are wider than a column;
        True when the items were rebuilt. A map larger than the pixels it gets is
        drawn as block means (`pictures`: ones made already, with their block);
        `block` says by how much, the hover and clicks still read every value."""
        self._shown = (maps, titles, diverging, describe, levels, short_titles, pictures)
        shape = maps[0].shape if maps else (0, 0)
        columns, side = grid_layout(len(maps), shape, self.width(), self.height())
        self._drawn_side = drawn_side(side)
        numbers = prints_numbers(shape, side)
        rebuilt = self._lay_out(len(maps), shape, columns, numbers)
        self._fit_boxes(shape, side, rebuilt)
        cmap = pg.colormap.get(DIVERGING if diverging else SEQUENTIAL)
        low, high = levels or (summarise(np.stack(maps), diverging).levels if maps
                               else (0.0, 1.0))
        self._set_colour_bar(cmap, low, high)
        lut = cmap.getLookupTable(nPts=256)
        shown = self._fitting_titles(titles, short_titles, columns)
        self.block = (1, 1)
        for k, (image, data, title) in enumerate(zip(self.images, maps, shown)):
            made = pictures[k] if pictures and k < len(pictures) else None
            picture, block = made or reduce_map(data, self._drawn_side, self._drawn_side)
            self.block, self.picture_shape = block, picture.shape
            image.setImage(picture, autoLevels=False, levels=(low, high), lut=lut)
            image.setRect(QRectF(0, 0, data.shape[1], data.shape[0]))  # in the map's cells
            if self.titles[k].text != title:  # NOTE: setText re-lays out the whole grid
                self.titles[k].setText(title, size=TITLE_SIZE)
            if numbers:
                self._write_numbers(self.numbers[k], data, cmap, low, high)
        self._data, self._describe = maps, describe
        return rebuilt

    def _lay_out(self, count: int, shape, columns: int, numbers: bool) -> bool:
        """Rebuild the items for a new layout, re-range the boxes for a new shape;
        True when rebuilt."""
        square = max(shape) <= 4 * max(min(shape), 1)  # else a thin matrix keeps its width
        signature = ("maps", count, columns, numbers, square, shape if numbers else None)
        rebuilt = signature != self._signature
        if rebuilt:
            self._build_maps(count, columns, shape, numbers, square)
            self._signature, self._shape = signature, None
        if shape != self._shape:
            for box in self.boxes:
                box.setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=PADDING)
            self._shape = shape
        return rebuilt

    def _fitting_titles(self, titles: list[str], short_titles: list[str] | None,
                        columns: int) -> list[str]:
        self.compact = titles_too_wide(titles, short_titles,
                                       column_width(self.width(), columns))
        return short_titles if self.compact else titles

    def _set_colour_bar(self, cmap: pg.ColorMap, low: float, high: float) -> None:
        self.colour_bar.setColorMap(cmap)
        if (low, high) != self._bar_levels:
            self.colour_bar.setLevels((low, high))
            self.colour_bar.axis.setTicks([colour_bar_ticks(low, high)])
            self._bar_levels = (low, high)

    def _build_maps(self, count: int, columns: int, shape, numbers: bool,
                    square: bool) -> None:
        self._clear()
        self.columns = columns
        for k in range(count):
            row, col = divmod(k, columns)
            title = self.addLabel("", row=2 * row, col=col, color=self.colours.text)
            title.setMaximumHeight(TITLE_HEIGHT)
            self.titles.append(title)
            box = self.addViewBox(row=2 * row + 1, col=col, lockAspect=square, invertY=True,
                                  enableMouse=False, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            self.boxes.append(box)
            self.images.append(image)
            self.numbers.append(self._number_items(box, shape) if numbers else [])
        rows = (count + columns - 1) // columns
        self.colour_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False,
                                          colorMapMenu=False, pen=self.colours.axis)
        self.colour_bar.axis.setTextPen(self.colours.text)
        self.colour_bar.axis.setPen(self.colours.axis)
        self.colour_bar.axis.setWidth(colour_bar_axis_width())
        self._bar_levels = None
        self.addItem(self.colour_bar, row=0, col=columns, rowspan=max(1, 2 * rows))
        filler = QGraphicsWidget()  # the height the maps leave, under them
        filler.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        filler.setPreferredHeight(0)
        self.addItem(filler, row=2 * rows, col=0, colspan=columns + 1)

    def _fit_boxes(self, shape, side: float, rebuilt: bool = False) -> None:
        """Boxes as tall as their maps, so a title sits on its map; the layout is
        applied at once, so the maps are where the next mouse event looks for them."""
        square = self._signature is not None and self._signature[4]  # else: no aspect
        height = side * shape[0] / max(shape[1], 1) * (1 + 2 * PADDING) + 1.0
        if square and self.boxes and self.boxes[0].maximumHeight() != height:
            for box in self.boxes:
                box.setPreferredHeight(height)
                box.setMaximumHeight(height)
        elif not rebuilt:
            return
        # NOTE: a shrink clamps the layout to the old items' minimum width; the new
        # items fit the widget again.
        self.ci.setGeometry(QRectF(0, 0, self.width(), self.height()))
        self.ci.layout.activate()

    def _number_items(self, box: pg.ViewBox, shape) -> list[QGraphicsSimpleTextItem]:
        items = []
        font = QFont("DejaVu Sans")
        font.setPixelSize(40)
        for _ in range(shape[0] * shape[1]):
            item = QGraphicsSimpleTextItem()
            item.setFont(font)
            box.addItem(item, ignoreBounds=True)
            items.append(item)
        return items

    def _write_numbers(self, items, data: np.ndarray, cmap, low: float, high: float) -> None:
        texts = [short_number(float(v)) for v in data.ravel()]
        for item, text in zip(items, texts):
            item.setText(text)
        widest = max((item.boundingRect().width() for item in items), default=1.0)
        tallest = max((item.boundingRect().height() for item in items), default=1.0)
        # One scale for the whole map: the widest number fills 88 % of its cell.
        scale = min(0.88 / max(widest, 60.0), 0.45 / max(tallest, 1.0))
        width = data.shape[1]
        for index, (item, value) in enumerate(zip(items, data.ravel())):
            item.setScale(scale)
            item.setBrush(QBrush(text_colour(cmap, (value - low) / (high - low))))
            bounds = item.boundingRect()
            i, j = divmod(index, width)
            item.setPos(QPointF(j + 0.5 - bounds.width() * scale / 2,
                                i + 0.5 - bounds.height() * scale / 2))

    def _clear(self) -> None:
        self.clear()
        self.images, self.boxes, self.titles, self.numbers = [], [], [], []
        self.colour_bar = None

    def show_nothing(self) -> None:
        self._clear()
        self._signature, self._shown = None, None
        self._data, self._describe = [], None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if getattr(self, "_shown", None) is None:  # NOTE: pyqtgraph resizes in __init__
            return
        self.resized.emit()
        shown = self._shown
        if shown is not None and shown[0]:
            maps, titles, short_titles = shown[0], shown[1], shown[5]
            columns, side = grid_layout(len(maps), maps[0].shape, self.width(), self.height())
            layout = (columns, prints_numbers(maps[0].shape, side))
            compact = titles_too_wide(titles, short_titles, column_width(self.width(), columns))
            finer = self.block != (1, 1) and drawn_side(side) != self._drawn_side
            rebuilt = self._signature is None  # a theme switch drops the items
            if rebuilt or layout != self._signature[2:4] or compact != self.compact or finer:
                self.show_maps(*shown)
            else:
                self._fit_boxes(maps[0].shape, side)

    def map_at(self, pos) -> tuple[int, int, int] | None:
        """(map index, row, column) under the scene position `pos`, or None."""
        for k, box in enumerate(self.boxes):
            if k >= len(self._data) or not box.sceneBoundingRect().contains(pos):
                continue
            point = box.mapSceneToView(pos)
            row, col = int(np.floor(point.y())), int(np.floor(point.x()))
            data = self._data[k]
            if 0 <= row < data.shape[0] and 0 <= col < data.shape[1]:
                return k, row, col
            return None
        return None

    def _mouse_moved(self, pos) -> None:
        where = self.map_at(pos)
        if where is not None and self._describe is not None:
            k, row, col = where
            self.hovered.emit(self._describe(k, row, col, float(self._data[k][row, col])))

    def _mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            where = self.map_at(event.scenePos())
            if where is None:
                return
            if event.double():
                self.clicked.emit(where[0])
            else:
                self.setFocus(Qt.FocusReason.MouseFocusReason)
                self.cell_clicked.emit(*where)
