"""The Tensors panel's tab titles, shortened when the full ones do not fit.

A narrow panel (a 1024×640 screen) would hide most tabs behind scroll arrows:
there the titles drop what every tab shares, "∂L/∂Z" becoming "∂Z" and
"out Z" "Z" (`short_title`), and each tab keeps its full title as its tooltip.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabBar

from bpviz.engine.formulas import LOSS

PREFIXES = (f"∂{LOSS}/", "out ", "in ")


def short_title(title: str) -> str:
    """`title` without the prefix its kind shares: "∂L/∂W" → "∂W", "in U" → "U"."""
    for prefix in PREFIXES:
        if title.startswith(prefix) and len(title) > len(prefix):
            return title[len(prefix):]
    return title


def fit_titles(tabs: QTabBar, titles: list[str], room: int) -> None:
    """Title the tabs in full when they fit in `room` pixels, shortened when not."""
    if tabs.count() != len(titles):
        return
    for index, title in enumerate(titles):
        tabs.setTabText(index, title)
        tabs.setTabToolTip(index, title)
    if sum(tabs.tabSizeHint(i).width() for i in range(tabs.count())) > room:
        for index, title in enumerate(titles):
            tabs.setTabText(index, short_title(title))
