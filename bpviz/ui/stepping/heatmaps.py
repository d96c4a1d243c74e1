"""A grid of heatmaps (or one bar chart) with a colour bar, updated in place.

HeatmapGrid shows a list of equally shaped 2-D maps, one ViewBox and one
ImageItem each, or one vector as bars. `show_maps`/`show_bars` rebuild the
scene only when the layout changes (number of maps, their shape, whether
numbers are printed); otherwise they reuse the items, so stepping is fast.
Maps of at most NUMBERS_UP_TO × NUMBERS_UP_TO cells print their values;
the text is scaled to the cell, so it grows with the view.

Colour: `diverging` maps use CET-D1 with levels ±max|v| (zero is the middle
colour); others use viridis from min to max. `hovered(str)` describes the
cell under the mouse. Background, titles and axes follow the app's theme
(`apply_theme`: the owner redraws, and the items are rebuilt in its colours).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QGraphicsSimpleTextItem

from bpviz.export.colours import DIVERGING, SEQUENTIAL
from bpviz.export.colours import levels as levels_for
from bpviz.ui.stepping.plot_theme import PlotColours, plot_colours, style_plot

NUMBERS_UP_TO = 8
BARS_NUMBERS_UP_TO = 16


def short_number(value: float) -> str:
    """Two significant digits, as short as they go: 0.043, -1.2, 3e-5."""
    text = f"{value:.2g}".replace("e-0", "e-").replace("e+0", "e")
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


def text_colour(cmap: pg.ColorMap, fraction: float) -> QColor:
    colour = cmap.map(min(max(fraction, 0.0), 1.0), mode="qcolor")
    luminance = 0.299 * colour.red() + 0.587 * colour.green() + 0.114 * colour.blue()
    return QColor("black") if luminance > 140 else QColor("white")


class HeatmapGrid(pg.GraphicsLayoutWidget):
    hovered = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours: PlotColours = plot_colours()
        self.setBackground(self.colours.background)
        self.images: list[pg.ImageItem] = []
        self.boxes: list[pg.ViewBox] = []
        self.titles: list[pg.LabelItem] = []
        self.numbers: list[list[QGraphicsSimpleTextItem]] = []
        self.bars: pg.BarGraphItem | None = None
        self.bar_numbers: list[pg.TextItem] = []
        self.colour_bar: pg.ColorBarItem | None = None
        self._plot: pg.PlotItem | None = None
        self._signature: tuple | None = None
        self._describe = None  # (box index, row, col) → str
        self._data: list[np.ndarray] = []
        self.scene().sigMouseMoved.connect(self._mouse_moved)

    def apply_theme(self, theme) -> None:
        """Take the theme's colours; the next show_maps/show_bars rebuilds the items."""
        self.colours = plot_colours(theme)
        self.setBackground(self.colours.background)
        self._signature = None

    # -- maps -------------------------------------------------------------
    def show_maps(self, maps: list[np.ndarray], titles: list[str], diverging: bool,
                  describe=None) -> bool:
        """Show equally shaped 2-D maps; True when the items were rebuilt."""
        shape = maps[0].shape if maps else (0, 0)
        numbers = max(shape) <= NUMBERS_UP_TO
        signature = ("maps", len(maps), shape, numbers)
        rebuilt = signature != self._signature
        if rebuilt:
            self._build_maps(len(maps), shape, numbers)
            self._signature = signature
        cmap = pg.colormap.get(DIVERGING if diverging else SEQUENTIAL)
        low, high = levels_for(np.stack(maps) if maps else np.zeros(1), diverging)
        self.colour_bar.setColorMap(cmap)
        self.colour_bar.setLevels((low, high))
        lut = cmap.getLookupTable(nPts=256)
        for k, (image, data, title) in enumerate(zip(self.images, maps, titles)):
            image.setImage(data, autoLevels=False, levels=(low, high), lut=lut)
            if self.titles[k].text != title:  # NOTE: setText re-lays out the whole grid
                self.titles[k].setText(title, size="10pt")
            if numbers:
                self._write_numbers(self.numbers[k], data, cmap, low, high)
        self._data, self._describe = maps, describe
        return rebuilt

    def _build_maps(self, count: int, shape, numbers: bool) -> None:
        self._clear()
        columns = max(1, min(count, int(np.ceil(np.sqrt(count * 2)))))
        for k in range(count):
            row, col = divmod(k, columns)
            title = self.addLabel("", row=2 * row, col=col, color=self.colours.text)
            title.setMaximumHeight(22)
            self.titles.append(title)
            # Square cells, unless a long thin matrix would shrink to a line.
            square = max(shape) <= 4 * max(min(shape), 1)
            box = self.addViewBox(row=2 * row + 1, col=col, lockAspect=square, invertY=True,
                                  enableMouse=False, enableMenu=False)
            image = pg.ImageItem(axisOrder="row-major")
            box.addItem(image)
            box.setRange(xRange=(0, shape[1]), yRange=(0, shape[0]), padding=0.02)
            self.boxes.append(box)
            self.images.append(image)
            self.numbers.append(self._number_items(box, shape) if numbers else [])
        rows = (count + columns - 1) // columns
        self.colour_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False,
                                          colorMapMenu=False, pen=self.colours.axis)
        self.colour_bar.axis.setTextPen(self.colours.text)
        self.colour_bar.axis.setPen(self.colours.axis)
        self.addItem(self.colour_bar, row=0, col=columns, rowspan=max(1, 2 * rows))

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

    # -- bars --------------------------------------------------------------
    def show_bars(self, values: np.ndarray, diverging: bool, describe=None,
                  title: str = "") -> bool:
        """Show a vector as bars coloured like the maps; True when rebuilt."""
        values = np.atleast_1d(values).astype(float)
        signature = ("bars", values.size)
        rebuilt = signature != self._signature
        if rebuilt:
            self._build_bars(values.size)
            self._signature = signature
        cmap = pg.colormap.get(DIVERGING if diverging else SEQUENTIAL)
        low, high = levels_for(values, diverging)
        brushes = cmap.mapToQColor((values - low) / (high - low))
        self.bars.setOpts(height=values, brushes=brushes)
        self._plot.setTitle(title, size="10pt", color=self.colours.text)
        for index, (item, value) in enumerate(zip(self.bar_numbers, values)):
            item.setText(short_number(value))
            item.setPos(index, value)
            item.setAnchor((0.5, 1.0) if value >= 0 else (0.5, 0.0))
        span = max(abs(values).max(initial=0), 1e-12)
        self._plot.setYRange(min(values.min(), 0) - 0.25 * span,
                             max(values.max(), 0) + 0.25 * span, padding=0)
        self._data, self._describe = [values[None, :]], describe
        return rebuilt

    def _build_bars(self, size: int) -> None:
        self._clear()
        self._plot = self.addPlot(row=0, col=0)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(False, False)
        self._plot.hideButtons()
        style_plot(self._plot, self.colours)
        self._plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#888")))
        self.bars = pg.BarGraphItem(x=np.arange(size), height=np.zeros(size), width=0.8,
                                    pen=pg.mkPen(self.colours.line))
        self._plot.addItem(self.bars)
        self._plot.setXRange(-0.6, size - 0.4, padding=0)
        if size <= 24:  # whole indices under the bars, never -0.4 … 0.4
            self._plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(size)], []])
        if size <= BARS_NUMBERS_UP_TO:
            for _ in range(size):
                item = pg.TextItem(color=self.colours.text)
                item.setFont(QFont("DejaVu Sans", 10))
                self._plot.addItem(item)
                self.bar_numbers.append(item)
        self.boxes = [self._plot.getViewBox()]

    # -- both --------------------------------------------------------------
    def _clear(self) -> None:
        self.clear()
        self.images, self.boxes, self.titles, self.numbers = [], [], [], []
        self.bars, self.bar_numbers, self.colour_bar, self._plot = None, [], None, None

    def show_nothing(self) -> None:
        self._clear()
        self._signature = None
        self._data, self._describe = [], None

    def _mouse_moved(self, pos) -> None:
        for k, box in enumerate(self.boxes):
            if not box.sceneBoundingRect().contains(pos):
                continue
            point = box.mapSceneToView(pos)
            data = self._data[k] if k < len(self._data) else None
            if data is None:
                return
            if self.bars is not None:
                row, col = 0, int(round(point.x()))
            else:
                row, col = int(np.floor(point.y())), int(np.floor(point.x()))
            if 0 <= row < data.shape[0] and 0 <= col < data.shape[1] and self._describe:
                self.hovered.emit(self._describe(k, row, col, float(data[row, col])))
            return
