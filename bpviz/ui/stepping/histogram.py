"""The histogram beside the heatmaps: how the shown values spread, in their colours.

HistogramView paints the counts of the values in bins that span the colour
bar's range (±max|v| for gradients, so zero sits in the middle), each bin in
the colour its values have in the heatmaps, with the range and zero written
under it and the largest count beside it. It is a plain QWidget painted in
one pass: a step costs one histogram (tensor_summary, made once for a big
tensor) and a few rectangles.

NOTE: it used to be a pyqtgraph PlotWidget; its axes regenerate their ticks
whenever the range changes, i.e. on every step, which cost more than all the
heatmaps together.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from bpviz.export.colours import DIVERGING, SEQUENTIAL
from bpviz.ui.stepping.plot_theme import PlotColours, plot_colours
from bpviz.workspace.tensor_summary import Summary, summarise

TITLE = "histogram"


def tick_text(value: float) -> str:
    return "0" if value == 0 else f"{value:.2g}"


class HistogramView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.colours: PlotColours = plot_colours()
        self.counts = np.zeros(0, dtype=int)
        self.edges = np.zeros(0)
        self.bin_colours: list[QColor] = []
        self.setMinimumWidth(160)
        self.setMaximumWidth(300)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def apply_theme(self, theme) -> None:
        self.colours = plot_colours(theme)
        self.update()

    def set_values(self, values: np.ndarray, diverging: bool) -> None:
        """Count the finite `values` in bins over their colour range."""
        self.set_summary(summarise(values, diverging), diverging)

    def set_summary(self, summary: Summary, diverging: bool) -> None:
        """Show the counts a summary made (bpviz.workspace.tensor_summary)."""
        if summary.size == 0:
            self.clear()
            return
        low, high = summary.levels
        self.counts, self.edges = summary.counts, summary.edges
        centres = (self.edges[:-1] + self.edges[1:]) / 2
        cmap = pg.colormap.get(DIVERGING if diverging else SEQUENTIAL)
        self.bin_colours = list(cmap.mapToQColor((centres - low) / (high - low)))
        self.update()

    def clear(self) -> None:
        self.counts, self.edges, self.bin_colours = np.zeros(0, dtype=int), np.zeros(0), []
        self.update()

    # -- painting -----------------------------------------------------------------
    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(self.colours.background))
        metrics = painter.fontMetrics()
        line = metrics.height()
        text = QColor(self.colours.text)
        painter.setPen(text)
        painter.drawText(QRectF(0, 2, self.width(), line), Qt.AlignmentFlag.AlignCenter, TITLE)
        plot = QRectF(8, line + 8, self.width() - 16, self.height() - 2 * line - 16)
        if self.counts.size and plot.height() > 4 and plot.width() > 4:
            self._paint_bars(painter, plot)
            self._paint_ticks(painter, plot, line)
        painter.end()

    def _paint_bars(self, painter: QPainter, plot: QRectF) -> None:
        top = max(int(self.counts.max()), 1)
        width = plot.width() / len(self.counts)
        painter.setPen(QPen(QColor(self.colours.line), 0.6))
        for index, (count, colour) in enumerate(zip(self.counts, self.bin_colours)):
            if count:
                height = plot.height() * count / top
                painter.setBrush(colour)
                painter.drawRect(QRectF(plot.left() + index * width, plot.bottom() - height,
                                        width, height))
        painter.setPen(QPen(QColor(self.colours.axis), 1.0))
        painter.drawLine(plot.bottomLeft(), plot.bottomRight())
        painter.setPen(QColor(self.colours.text))
        painter.drawText(plot.adjusted(2, 0, 0, 0), Qt.AlignmentFlag.AlignLeft
                         | Qt.AlignmentFlag.AlignTop, f"{top:,}")

    def _paint_ticks(self, painter: QPainter, plot: QRectF, line: float) -> None:
        """The range's ends under its corners and zero where it falls."""
        low, high = float(self.edges[0]), float(self.edges[-1])
        ticks = [(low, Qt.AlignmentFlag.AlignLeft), (high, Qt.AlignmentFlag.AlignRight)]
        if low < 0 < high:
            ticks.append((0.0, Qt.AlignmentFlag.AlignHCenter))
        written: list[QRectF] = []
        for value, align in ticks:
            x = plot.left() + plot.width() * (value - low) / (high - low)
            painter.setPen(QPen(QColor(self.colours.axis), 1.0))
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            label = tick_text(value)
            width = painter.fontMetrics().horizontalAdvance(label) + 4
            left = {Qt.AlignmentFlag.AlignLeft: x - 4, Qt.AlignmentFlag.AlignRight: x - width + 4}
            box = QRectF(left.get(align, x - width / 2), plot.bottom() + 5, width, line)
            if any(box.intersects(other) for other in written):
                continue  # zero between two long ends: its tick says where it is
            written.append(box)
            painter.setPen(QColor(self.colours.text))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, label)
