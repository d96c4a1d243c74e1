"""The step-through plots' colours from the app's theme (pyqtgraph draws its own).

`plot_colours()` gives the background, text, axis and grid colours of the
theme in use; `style_plot` applies them to a PlotItem's title and axes;
`follow_theme(apply)` calls `apply(theme)` now and after every theme
switch, like the training curves do.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from PySide6.QtGui import QColor

from bpviz.scene.theme import Theme, current_theme, theme_manager


@dataclass(frozen=True)
class PlotColours:
    background: str
    text: str
    axis: str
    line: str  # reference lines, bar outlines


def plot_colours(theme: Theme | None = None) -> PlotColours:
    theme = theme or current_theme()
    line = "#c8c8c8" if QColor(theme.base).lightnessF() < 0.5 else "#444444"
    return PlotColours(theme.base, theme.text, theme.muted if theme.name == "dark" else
                       theme.text, line)


def style_plot(item: pg.PlotItem, colours: PlotColours, title: str | None = None,
               size: str = "10pt") -> None:
    """The title (when given) and the left and bottom axes in the theme's colours."""
    if title is not None:
        item.setTitle(title, size=size, color=colours.text)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setTextPen(pg.mkPen(colours.text))
        axis.setPen(pg.mkPen(colours.axis))


def follow_theme(apply) -> None:
    """apply(current theme) now and on every theme change."""
    apply(current_theme())
    theme_manager().changed.connect(apply)
