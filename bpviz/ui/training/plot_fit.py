"""How narrow a training plot may get before its title, legend or axes clip.

`minimum_width` is what a plot needs beside its left axis: room for its title,
and for a legend above the view wrapped to at most LEGEND_ROWS rows. A panel too
narrow for four such plots side by side arranges them otherwise (plot_board.py).
`wrap_legend` gives a legend above the view as many columns as fit the view
(one row when there is room, more rows in a narrow plot).
"""

from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFont, QFontMetricsF

MIN_WIDTH = 200  # px: no plot gets narrower than this
MIN_HEIGHT = 170  # px
LEGEND_ROWS = 2  # a legend above the view wraps to at most this many rows


def axis_room(font: QFont) -> float:
    """Width of the left axis: tick labels like "0.0001" and the rotated axis label."""
    metrics = QFontMetricsF(font)
    return metrics.horizontalAdvance("0.0001") + 2.5 * metrics.height()


def legend_width(legend: pg.LegendItem, columns: int) -> float:
    """The legend's width laid out in `columns` columns (it is left so laid out)."""
    legend.setColumnCount(max(columns, 1))
    return legend.layout.preferredWidth()


def minimum_width(plot: pg.PlotItem, legend_above: pg.LegendItem | None, font: QFont,
                  right_margin: float) -> int:
    """The narrowest width at which nothing of `plot` clips."""
    content = plot.titleLabel.item.boundingRect().width()
    if legend_above is not None and legend_above.items:
        columns = legend_above.columnCount
        fewest = math.ceil(len(legend_above.items) / LEGEND_ROWS)
        content = max(content, legend_width(legend_above, fewest))
        legend_above.setColumnCount(columns)
    return max(MIN_WIDTH, math.ceil(axis_room(font) + content + right_margin))


def wrap_legend(legend: pg.LegendItem, room: float) -> None:
    """As many columns as fit in `room` pixels (at least one)."""
    count = len(legend.items)
    if not count:
        return
    columns = count
    while columns > 1 and legend_width(legend, columns) > room:
        columns -= 1
    legend.setColumnCount(columns)
