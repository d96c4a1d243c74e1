"""Which maps of a tensor the heatmap grid shows: a page of them, or one large.

A feature map [C, H, W] has C maps (one per channel), conv weights
[m, n, kh, kw] have m·n kernels, a matrix is one map. A page holds as many
maps as the grid can draw at a size that can be read from the back of a
lecture hall (the owner sets `page_size` from the grid's area, at most
PAGE_SIZE, at least one); MapPages is the control above the grid:
"◀ channels 16–31 of 64 ▶". A new page size keeps the first map of the page
in sight. Clicking a map shows it alone and large ("channel 5 of 64", ◀ ▶
then move one map, "all" goes back to the page). The choice survives steps
whose tensor has as many maps; with another number of maps it starts again
at the first page.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from bpviz.engine.shape_text import shape_text

PAGE_SIZE = 16


def map_count(values: np.ndarray) -> int:
    return 1 if values.ndim == 2 else int(np.prod(values.shape[:-2]))


def map_noun(values: np.ndarray) -> str:
    return {2: "matrix", 3: "channel"}.get(values.ndim, "kernel")


@dataclass(frozen=True)
class MapPage:
    """The maps in sight, their titles (full and short, for small maps) and axis names."""

    maps: list[np.ndarray]
    titles: list[str]
    short_titles: list[str]
    axes: tuple[str, str]


def maps_from(values: np.ndarray, first: int, count: int) -> MapPage:
    """Maps first … first+count-1 with their titles and the names of their axes.

    [C, H, W] feature maps → one map per channel ("channel 5", short "c5");
    [m, n, kh, kw] conv weights → one k1×k2 kernel per (m, n) ("m=0 n=5", short
    "0,5"); a matrix → itself.
    """
    if values.ndim == 2:
        title = shape_text(values.shape)
        return MapPage([values], [title], [title], ("row", "col"))
    last = min(first + count, map_count(values))
    if values.ndim == 3:
        channels = range(first, last)
        return MapPage([values[c] for c in channels], [f"channel {c}" for c in channels],
                       [f"c{c}" for c in channels], ("i1", "i2"))
    flat = values.reshape(-1, *values.shape[-2:])
    lead = values.shape[:-2]
    indices = [np.unravel_index(k, lead) for k in range(first, last)]
    short = [",".join(map(str, index)) for index in indices]
    titles = [f"m={index[0]} n={index[1]}" for index in indices] if len(lead) == 2 else short
    return MapPage(list(flat[first:last]), titles, short, ("k1", "k2"))


class MapPages(QWidget):
    """◀ "channels 0–15 of 64" ▶ (and "all" while one map is shown large)."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first = 0  # the first map shown
        self.total = 0
        self.page_size = PAGE_SIZE
        self._page_first = 0  # the page a map shown large came from
        self.single = False  # one map, large
        self.noun = "channel"
        self.previous = self._button("◀", "previous page of maps", lambda: self.move(-1))
        self.label = QLabel()
        self.label.setObjectName("tensor_page")
        self.next = self._button("▶", "next page of maps", lambda: self.move(1))
        self.grid = self._button("all", "back to the page of maps", self.show_page)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.previous, self.label, self.next, self.grid):
            layout.addWidget(widget)
        self._refresh()

    def _button(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(slot)
        return button

    @property
    def shown(self) -> int:
        """How many maps are in sight."""
        return 1 if self.single else min(self.page_size, max(self.total - self.first, 0))

    def set_page_size(self, size: int) -> bool:
        """Pages of `size` maps (1 … PAGE_SIZE); True when that changed the page.

        The first map of the page stays in sight: the page starts at it, or
        earlier when the maps after it do not fill the page."""
        size = min(max(size, 1), PAGE_SIZE)
        if size == self.page_size:
            return False
        self.page_size = size
        if not self.single:
            self.first = min(self.first, max(self.total - size, 0))
        self._refresh()
        return True

    def set_total(self, total: int, noun: str) -> None:
        """The tensor in sight has `total` maps; another count starts at page one."""
        self.noun = noun
        if total != self.total:
            self.total, self.first, self.single = total, 0, False
        self._refresh()

    def move(self, direction: int) -> None:
        """A page (one map when one is shown large) forward (+1) or back (-1)."""
        stride = 1 if self.single else self.page_size
        first = self.first + direction * stride
        if direction < 0 and self.first > 0:
            first = max(first, 0)  # a page that starts elsewhere after a resize
        if 0 <= first < self.total:
            self.first = first
            self._refresh()
            self.changed.emit()

    def bring_into_sight(self, index: int) -> None:
        """The page that holds map `index` (the map itself while one is shown large)."""
        if not 0 <= index < self.total or self.first <= index < self.first + self.shown:
            return
        self.first = index if self.single else index - index % self.page_size
        self._refresh()
        self.changed.emit()

    def show_single(self, index: int) -> None:
        """Map `index` alone and large."""
        if 0 <= index < self.total:
            if not self.single:
                self._page_first = self.first
            self.first, self.single = index, True
            self._refresh()
            self.changed.emit()

    def show_page(self) -> None:
        """Back to the page of maps around the one shown large."""
        if self.single:
            page = self._page_first
            if not page <= self.first < page + self.page_size:
                page = self.first - self.first % self.page_size
            self.first, self.single = page, False
            self._refresh()
            self.changed.emit()

    def _refresh(self) -> None:
        paged = self.total > self.page_size
        self.setVisible(paged or self.single)
        if self.single:
            self.label.setText(f"{self.noun} {self.first} of {self.total}")
        else:
            last = self.first + self.shown - 1
            self.label.setText(f"{self.noun}s {self.first}–{last} of {self.total}")
        stride = 1 if self.single else self.page_size
        self.previous.setEnabled(self.first > 0)
        self.next.setEnabled(self.first + stride < self.total)
        self.grid.setVisible(self.single)
        what = "map" if self.single else "page of maps"
        self.previous.setToolTip(f"previous {what}")
        self.next.setToolTip(f"next {what}")
