"""A figure's whole picture: background, the canvas's scene, a caption and a colour bar.

A FigurePainter paints in figure pixels: the canvas's scene units at 100 %
zoom, which are the screen's logical pixels (bpviz.export.devices.base_dpi()
of them per inch, 96 on most systems and off screen).

At a step of a pass a caption states the step and its formula with shapes
(bpviz.engine.formulas.describe_step, laid out by bpviz.export.caption), and
a colour bar gives the scale of the gradient norms on the wires (the canvas's
ramp, log scale).
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSizeF
from PySide6.QtGui import QColor, QPainter

from bpviz.export.caption import CaptionLayout, font
from bpviz.export.colours import paint_colour_bar, short_number
from bpviz.export.figure import SceneFigure, StepState, painting_theme

CAPTION_HEIGHT, LEGEND_HEIGHT, MIN_CAPTIONED_WIDTH = 64.0, 70.0, 560.0
PAD = 20.0
PRINT_WHITE = "#ffffff"  # the light theme's exports are printed: a white page


class FigurePainter:
    """Paints `figure` as it shows now into a picture of `size()` figure pixels.

    bounds: the part of the scene to show (default: everything it draws now;
    an animation passes the union over all its frames so they line up);
    caption_height: room kept for the caption at least (an animation passes
    the tallest of its frames', see `caption_height`).
    """

    def __init__(self, figure: SceneFigure, caption: bool | None = None,
                 legend: bool | None = None, transparent: bool = False,
                 bounds: QRectF | None = None, caption_height: float = 0.0) -> None:
        self.figure, self.state = figure, figure.state
        state = self.state
        self.caption = state is not None if caption is None else caption
        self.legend = (state is not None and state.has_norms) if legend is None else legend
        self.transparent = transparent
        self.source = QRectF(bounds) if bounds is not None else figure.bounds()
        width = picture_width(self.source, self.caption or self.legend)
        self.layout = caption_layout(state, width) if self.caption else None
        top = 0.0
        if self.caption:
            top = max(self.layout.height if self.layout else CAPTION_HEIGHT, caption_height)
        height = top + self.source.height() + (LEGEND_HEIGHT if self.legend else 0.0)
        self._size = QSizeF(math.ceil(width), math.ceil(height))  # whole pixels
        self.target = QRectF(QPointF((self._size.width() - self.source.width()) / 2, top),
                             self.source.size())

    def size(self) -> QSizeF:
        return QSizeF(self._size)

    def background_colour(self) -> QColor:
        from bpviz.scene.theme import THEMES

        theme = THEMES[self.figure.theme]
        return QColor(PRINT_WHITE if theme.name == "light" else theme.canvas["background"])

    def text_colours(self) -> tuple[QColor, QColor]:
        from bpviz.scene.theme import THEMES

        theme = THEMES[self.figure.theme]
        return QColor(theme.canvas["node_text"]), QColor(theme.muted)

    # -- painting -----------------------------------------------------------
    def paint(self, painter: QPainter) -> None:
        self.paint_background(painter)
        self.paint_scene(painter)
        self.paint_decor(painter)

    def paint_background(self, painter: QPainter) -> None:
        if not self.transparent:
            painter.fillRect(QRectF(QPointF(0, 0), self._size), self.background_colour())

    def paint_scene(self, painter: QPainter, only=None) -> None:
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        self.figure.render(painter, self.target, self.source, only)
        painter.restore()

    def paint_decor(self, painter: QPainter) -> None:
        state = self.state
        if self.caption and state is not None:
            self._caption(painter, state)
        if self.legend and state is not None and state.has_norms and state.phase == "backward":
            self._legend(painter, state)  # (its room is kept in forward frames too)

    def _caption(self, painter: QPainter, state: StepState) -> None:
        if self.layout is not None:
            self.layout.paint(painter, PAD, *self.text_colours())

    def _legend(self, painter: QPainter, state: StepState) -> None:
        from bpviz.scene.colours import norm_colour

        low, high = state.norm_range
        ticks = [(0.0, short_number(low)), (1.0, short_number(high))]
        if high > low * 10:
            middle = math.sqrt(low * high)
            ticks.insert(1, (state.level(middle), short_number(middle)))
        rect = QRectF(PAD, self._size.height() - LEGEND_HEIGHT + 28, 280, 12)
        text, _ = self.text_colours()
        painter.save()
        with painting_theme(self.figure.theme):
            paint_colour_bar(painter, rect, norm_colour, ticks,
                             "‖g‖ = ‖∂L/∂x‖ along each wire (log scale)", text, font(10))
        painter.restore()


def picture_width(source: QRectF, decorated: bool) -> float:
    """A picture's width for the scene's `source`: wide enough for a caption or legend."""
    return max(source.width(), MIN_CAPTIONED_WIDTH) if decorated else source.width()


def caption_layout(state: StepState | None, width: float) -> CaptionLayout | None:
    if state is None:
        return None
    return CaptionLayout(state.title, state.lines, state.aside, width - 2 * PAD)


def caption_height(states: list[StepState], bounds: QRectF) -> float:
    """The tallest caption of `states` in pictures of the scene's `bounds`."""
    width = picture_width(bounds, True)
    return max((caption_layout(state, width).height for state in states), default=0.0)
