"""PlotBoard: the training plots laid out by the room they have, none clipped.

The board picks one of ARRANGEMENTS for its size: the four plots in a row
(a wide, short panel), a 2×2 grid (a tall one), two pages of two side by side
(tabs "Loss · Accuracy" and "Gradient norm · Decision boundary"), or one page
per plot (the narrowest). An arrangement fits when every plot gets at least
its minimum size (the width its title, legend and axes need, bpviz.ui.training
.plot_fit, and MIN_HEIGHT); of those that fit on one page the board takes the
one whose smallest plot is largest, and pages only when none does. Its
minimum size is that of one plot per page, so no plot is ever drawn smaller
than its minimum: the dock, not the plots, gives way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRect, QSize
from PySide6.QtWidgets import QTabBar, QWidget

GAP = 6  # px between plots
TAB_FRAME = 14  # px of a tab around its text's height
ASPECT = 1.5  # a plot wider than ASPECT × its height counts as no larger (see _score)


@dataclass(frozen=True)
class Arrangement:
    """`pages` pages (tabs when more than one) of `rows` × `columns` plots."""

    name: str
    pages: int
    rows: int
    columns: int


ARRANGEMENTS = (Arrangement("row", 1, 1, 4), Arrangement("grid", 1, 2, 2),
                Arrangement("pairs", 2, 1, 2), Arrangement("single", 4, 1, 1))


class PlotBoard(QWidget):
    def __init__(self, plots: list[tuple[str, QWidget]], weights: list[int],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.titles = [title for title, _plot in plots]
        self.plots = [plot for _title, plot in plots]
        self.weights = weights  # how the spare width is shared in a row
        for plot in self.plots:
            plot.setParent(self)
        self.tabs = QTabBar(self)
        self.tabs.setObjectName("training_plot_tabs")
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        self.tabs.currentChanged.connect(lambda _index: self._arrange())
        self.arrangement = ARRANGEMENTS[0]

    # -- sizes ------------------------------------------------------------------------
    def _pages(self, arrangement: Arrangement) -> list[list[QWidget]]:
        per_page = arrangement.rows * arrangement.columns
        return [self.plots[start:start + per_page]
                for start in range(0, len(self.plots), per_page)]

    def _column_widths(self, arrangement: Arrangement, page: list[QWidget]) -> list[int]:
        """The narrowest each column of `page` may be."""
        columns = arrangement.columns
        return [max(plot.minimumWidth() for plot in page[column::columns])
                for column in range(min(columns, len(page)))]

    def _tab_height(self, arrangement: Arrangement) -> int:
        if arrangement.pages == 1:
            return 0
        # NOTE: a tab bar without tabs hints no height; one with them is a line of text
        # and the style's frame around it.
        return max(self.tabs.sizeHint().height(), self.tabs.fontMetrics().height() + TAB_FRAME)

    def needs(self, arrangement: Arrangement) -> QSize:
        """The smallest board on which `arrangement` shows every plot whole."""
        width = 0
        for page in self._pages(arrangement):
            columns = self._column_widths(arrangement, page)
            width = max(width, sum(columns) + GAP * (len(columns) - 1))
        tallest = max(plot.minimumHeight() for plot in self.plots)
        height = arrangement.rows * tallest + GAP * (arrangement.rows - 1)
        return QSize(width, height + self._tab_height(arrangement))

    def fits(self, arrangement: Arrangement, size: QSize) -> bool:
        need = self.needs(arrangement)
        return need.width() <= size.width() and need.height() <= size.height()

    def choose(self, size: QSize) -> Arrangement:
        """The arrangement for a board of `size` (see the module's docstring)."""
        one_page = [a for a in ARRANGEMENTS if a.pages == 1 and self.fits(a, size)]
        if one_page:
            return max(one_page, key=lambda a: self._score(a, size))
        return next((a for a in ARRANGEMENTS if a.pages > 1 and self.fits(a, size)),
                    ARRANGEMENTS[-1])

    @staticmethod
    def _score(arrangement: Arrangement, size: QSize) -> float:
        """How large a plot of `arrangement` is: its height, or its width over ASPECT
        when that is less (a tall thin plot is no easier to read than a short one)."""
        width = (size.width() - GAP * (arrangement.columns - 1)) / arrangement.columns
        height = (size.height() - GAP * (arrangement.rows - 1)) / arrangement.rows
        return min(width / ASPECT, height)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return self.needs(ARRANGEMENTS[-1])

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        need = self.needs(ARRANGEMENTS[0])
        return QSize(max(need.width(), sum(self.weights)), need.height())

    # -- layout --------------------------------------------------------------------
    def event(self, event) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # a plot's minimum changed
            self.updateGeometry()
            self._arrange()
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._arrange()

    def _arrange(self) -> None:
        arrangement = self.arrangement = self.choose(self.size())
        pages = self._pages(arrangement)
        self._set_tabs(arrangement, pages)
        page = min(self.tabs.currentIndex(), len(pages) - 1) if len(pages) > 1 else 0
        top = self._tab_height(arrangement)
        if top:
            self.tabs.setGeometry(0, 0, self.width(), top)
        area = QRect(0, top, self.width(), self.height() - top)
        for index, shown in enumerate(pages):
            for plot in shown:
                plot.setVisible(index == page)
        self._place(arrangement, pages[page], area)

    def _set_tabs(self, arrangement: Arrangement, pages: list[list[QWidget]]) -> None:
        titles = [" · ".join(self.titles[self.plots.index(plot)] for plot in page)
                  for page in pages] if arrangement.pages > 1 else []
        if [self.tabs.tabText(i) for i in range(self.tabs.count())] != titles:
            self.tabs.blockSignals(True)
            current = self.tabs.currentIndex()
            while self.tabs.count():
                self.tabs.removeTab(0)
            for title in titles:
                self.tabs.addTab(title)
            if titles:
                self.tabs.setCurrentIndex(max(0, min(current, len(titles) - 1)))
            self.tabs.blockSignals(False)
        self.tabs.setVisible(bool(titles))

    def _place(self, arrangement: Arrangement, page: list[QWidget], area: QRect) -> None:
        columns = min(arrangement.columns, len(page))
        rows = math.ceil(len(page) / columns)
        minimums = self._column_widths(arrangement, page)
        shares = ([self.weights[self.plots.index(plot)] for plot in page[:columns]]
                  if rows == 1 else [1] * columns)
        spare = max(0, area.width() - GAP * (columns - 1) - sum(minimums))
        widths = [minimum + spare * share // sum(shares)
                  for minimum, share in zip(minimums, shares)]
        widths[-1] = area.width() - GAP * (columns - 1) - sum(widths[:-1])
        height = (area.height() - GAP * (rows - 1)) // rows
        for index, plot in enumerate(page):
            row, column = divmod(index, columns)
            x = area.x() + sum(widths[:column]) + GAP * column
            y = area.y() + row * (height + GAP)
            plot.setGeometry(x, y, widths[column], height)
