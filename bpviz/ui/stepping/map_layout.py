"""Where the heatmap grid puts its maps: columns, the side of a map, how many fit.

The grid is a QGraphicsGridLayout of rows of titles (TITLE_HEIGHT) over
boxes, SPACING apart within a MARGIN, and a colour bar on the right; these
functions predict to the pixel what that layout draws, so the owner can ask
how many maps of a shape the area shows at MIN_MAP_SIDE pixels or more
before it builds them. Titles wider than their column give way to short
ones; the colour bar is labelled at its ends and at zero.
"""

from __future__ import annotations

import math
from functools import lru_cache

from PySide6.QtGui import QFont, QFontMetrics

from bpviz.ui.stepping.histogram import tick_text

NUMBERS_UP_TO = 8
TITLE_HEIGHT = 22.0
TITLE_SIZE = "10pt"
TITLE_MARGINS = 8.0  # pixels a title's text item adds to its text
COLOUR_BAR_LABEL = "-0.00088"  # the widest tick_text: the axis is this wide
MIN_COLUMN_WIDTH = 40.0  # a short title ("c255") at 10 pt: a column is never narrower
MIN_MAP_SIDE = 56.0  # pixels a map needs to be read from the back of a lecture hall
MIN_NUMBER_CELL = 18.0  # pixels a cell needs before its number is printed
SPACING = 6.0  # between the rows and columns of the layout
MARGIN = 9.0  # around it
PADDING = 0.02  # of a box around its map


def grid_layout(count: int, shape: tuple[int, int], width: float,
                height: float) -> tuple[int, float]:
    """(columns, side of a map in pixels) that draw `count` maps of `shape` largest in
    width × height; a column is never narrower than a short title."""
    rows_per_col = shape[0] / max(shape[1], 1)
    best, best_side = 1, -1.0
    for columns in range(1, max(count, 1) + 1):
        rows = math.ceil(count / columns)
        cell_w = column_width(width, columns)
        if columns > 1 and cell_w < MIN_COLUMN_WIDTH:
            break
        cell_h = (height - 2 * MARGIN) / rows - TITLE_HEIGHT - 2 * SPACING
        side = min(cell_w, cell_h / rows_per_col) / (1 + 2 * PADDING)
        if side > best_side + 1e-9:
            best, best_side = columns, side
    return best, max(best_side, 0.0)


def column_width(width: float, columns: int) -> float:
    """The width of a column of maps when `columns` of them share `width`."""
    return (width - 2 * MARGIN - colour_bar_width()) / columns - SPACING


@lru_cache(maxsize=1)
def colour_bar_axis_width() -> float:
    return QFontMetrics(QFont()).horizontalAdvance(COLOUR_BAR_LABEL) + 12.0


def colour_bar_width() -> float:
    """The bar (14 px and its border) and its axis."""
    return colour_bar_axis_width() + 16.0


def maps_that_fit(shape: tuple[int, int], width: float, height: float, most: int) -> int:
    """How many maps of `shape` (1 … most) width × height draws at least MIN_MAP_SIDE
    pixels wide."""
    for count in range(most, 1, -1):
        if grid_layout(count, shape, width, height)[1] >= MIN_MAP_SIDE:
            return count
    return 1


@lru_cache(maxsize=4096)
def title_width(title: str) -> float:
    font = QFont()
    font.setPointSizeF(float(TITLE_SIZE.removesuffix("pt")))
    return QFontMetrics(font).horizontalAdvance(title)


def titles_too_wide(titles: list[str], short_titles: list[str] | None,
                    room: float) -> bool:
    """Whether the short titles are to be shown: a title is wider than `room`."""
    return short_titles is not None and any(
        title_width(title) + TITLE_MARGINS > room for title in titles)


def colour_bar_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """The range's ends, and zero when it lies inside, away from the ends."""
    ticks = [(low, tick_text(low)), (high, tick_text(high))]
    if low < 0 < high and min(-low, high) >= 0.15 * (high - low):
        ticks.insert(1, (0.0, "0"))
    return ticks


def prints_numbers(shape: tuple[int, int], side: float) -> bool:
    """Small maps print their values when a cell is big enough to read them."""
    return max(shape) <= NUMBERS_UP_TO and side / max(shape) >= MIN_NUMBER_CELL
