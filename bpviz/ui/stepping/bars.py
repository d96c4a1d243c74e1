"""A vector as bars coloured like the heatmaps, its numbers on top when it is short.

A vector longer than MAX_BARS is drawn as MAX_BARS bars or fewer, each the
mean of a block of entries (`block`), at the entries' own positions, so the
hover and clicks still name every entry.
BarChart keeps its plot between vectors: only the bars (and their number
labels) are made anew when the length changes, and a step with a vector of
the same length only moves them. `hovered(str)` describes the bar under the
mouse, `clicked(j)` says which bar was clicked. Colours follow the app's
theme (`apply_theme`; the owner redraws).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontMetrics

from bpviz.export.colours import DIVERGING, SEQUENTIAL
from bpviz.export.colours import levels as levels_for
from bpviz.ui.stepping.plot_theme import PlotColours, plot_colours, style_plot
from bpviz.workspace.tensor_summary import reduce_map

BARS_NUMBERS_UP_TO = 16
MAX_BARS = 512  # a longer vector is drawn as this many bars, each the mean of a block
TICKS_UP_TO = 24
TINY_BAR = 0.03  # bars shorter than this share of the longest show no number


def short_number(value: float) -> str:
    """Two significant digits, as short as they go: 0.043, -1.2, 3e-5."""
    text = f"{value:.2g}".replace("e-0", "e-").replace("e+0", "e")
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text


class BarChart(pg.GraphicsLayoutWidget):
    hovered = Signal(str)
    clicked = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours: PlotColours = plot_colours()
        self.setBackground(self.colours.background)
        self.bars: pg.BarGraphItem | None = None
        self.bar_numbers: list[pg.TextItem] = []
        self.values = np.zeros(0)
        self.block = 1  # each bar is the mean of this many entries
        self.bars_drawn = 0
        self._describe = None  # (index, value) → str
        self._plot = self.addPlot(row=0, col=0)
        self._plot.setMenuEnabled(False)
        self._plot.setMouseEnabled(False, False)
        self._plot.hideButtons()
        self._zero = pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#888"))
        self._plot.addItem(self._zero)
        style_plot(self._plot, self.colours)
        self.scene().sigMouseMoved.connect(self._mouse_moved)
        self.scene().sigMouseClicked.connect(self._mouse_clicked)

    def apply_theme(self, theme) -> None:
        self.colours = plot_colours(theme)
        self.setBackground(self.colours.background)
        style_plot(self._plot, self.colours)
        for item in self.bar_numbers:
            item.setColor(self.colours.text)
        if self.bars is not None:
            self.bars.setOpts(pen=pg.mkPen(self.colours.line))

    def show_bars(self, values: np.ndarray, diverging: bool, describe=None,
                  title: str = "") -> bool:
        """Show a vector as bars; True when the bars were made anew (a new length)."""
        values = np.atleast_1d(values).astype(float)
        rebuilt = self.bars is None or values.size != self.values.size
        drawn, self.block = reduce_map(values[None, :], 1, MAX_BARS)
        drawn, self.block = drawn[0], self.block[1]
        self.bars_drawn = drawn.size
        if rebuilt:
            self._build(drawn.size, self.block, values.size)
        cmap = pg.colormap.get(DIVERGING if diverging else SEQUENTIAL)
        low, high = levels_for(values, diverging)
        self.bars.setOpts(height=drawn, brushes=cmap.mapToQColor((drawn - low) / (high - low)))
        self._plot.setTitle(title, size="10pt", color=self.colours.text)
        span = max(abs(values).max(initial=0), 1e-12)
        for index, (item, value) in enumerate(zip(self.bar_numbers, values)):
            # NOTE: numbers of bars too short to see would pile up on the zero line,
            # unreadable; the hover still gives them.
            item.setText(short_number(value) if abs(value) >= TINY_BAR * span else "")
            item.setPos(index, value)
            item.setAnchor((0.5, 1.0) if value >= 0 else (0.5, 0.0))
        self.values, self._describe = values, describe
        self._fit_range()
        QTimer.singleShot(0, self, self._fit_range)  # again once the plot has its new size
        return rebuilt

    def _fit_range(self) -> None:
        values = self.values
        if values is None or not values.size:
            return
        span = max(abs(values).max(initial=0), 1e-12)
        low, high = min(values.min(), 0), max(values.max(), 0)
        pad = max(0.25 * span, (high - low) * self._number_room())
        self._plot.setYRange(low - pad, high + pad, padding=0)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._fit_range)  # room for the numbers at the new height

    def _number_room(self) -> float:
        """The share of the bars' range a bar's number needs above (or below) the
        tallest bar, so that it never sits on the axis's tick labels."""
        height = self._plot.getViewBox().height()
        if not self.bar_numbers or height <= 0:
            return 0.0
        item = self.bar_numbers[0].textItem  # its margins included
        text = max(item.boundingRect().height(),
                   QFontMetrics(item.font()).height() + 2 * item.document().documentMargin())
        share = min(text / height, 0.3)
        return share / (1 - 2 * share)

    def _build(self, count: int, block: int, size: int) -> None:
        """`count` bars, each the mean of `block` entries of a vector of `size`."""
        for item in [self.bars, *self.bar_numbers]:
            if item is not None:
                self._plot.removeItem(item)
        pen = pg.mkPen(self.colours.line) if block == 1 else None
        self.bars = pg.BarGraphItem(x=np.arange(count) * block + (block - 1) / 2,
                                    height=np.zeros(count), width=0.8 * block, pen=pen)
        self._plot.addItem(self.bars)
        self._plot.setXRange(-0.6, size - 0.4, padding=0)
        bottom = self._plot.getAxis("bottom")
        if size <= TICKS_UP_TO:  # whole indices under the bars, never -0.4 … 0.4
            bottom.setTicks([[(i, str(i)) for i in range(size)], []])
        else:
            bottom.setTicks(None)
        self.bar_numbers = []
        if size <= BARS_NUMBERS_UP_TO:
            for _ in range(size):
                item = pg.TextItem(color=self.colours.text)
                item.setFont(QFont("DejaVu Sans", 10))
                self._plot.addItem(item)
                self.bar_numbers.append(item)

    def bar_at(self, pos) -> int | None:
        """The index of the bar under the scene position `pos`, or None."""
        box = self._plot.getViewBox()
        if self.bars is None or not box.sceneBoundingRect().contains(pos):
            return None
        index = int(round(box.mapSceneToView(pos).x()))
        return index if 0 <= index < self.values.size else None

    def _mouse_moved(self, pos) -> None:
        index = self.bar_at(pos)
        if index is not None and self._describe is not None:
            self.hovered.emit(self._describe(index, float(self.values[index])))

    def _mouse_clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            index = self.bar_at(event.scenePos())
            if index is not None:
                self.setFocus(Qt.FocusReason.MouseFocusReason)
                self.clicked.emit(index)
