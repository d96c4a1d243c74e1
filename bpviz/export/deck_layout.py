"""Where things go on a deck's 16:9 slide, and the pictures that fill it.

A slide is SLIDE_W × SLIDE_H points (13.33 × 7.5 inches, PowerPoint's 16:9).
Top: the step ("Step 14 of 29 · backward") and its title. Left: the graph
at that step over the text, the formula lines, the aside (where the upstream
gradient comes from) and any explanations. Right: the key tensors as
heatmaps, stacked, each under a one-line label.

Text is fitted, never cut: the formula's size is the largest from
FORMULA_POINTS down to MIN_POINTS at which the wrapped text fits the room
left under a graph of at least MIN_GRAPH_H; the graph takes what is left.
Text is measured with Qt's metrics of TEXT_FAMILY, which is wider than the
Arial a .pptx names, so PowerPoint's lines are no longer than these.

DeckPictures draws the graph at a step (the canvas's scene, as the other
exports: bpviz.export.figure) over the same part of the scene on every
slide, so the graph holds still from slide to slide, and the heatmaps
(bpviz.export.heatmaps).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QImage

from bpviz.export.deck import Deck, DeckSlide, DeckTensor
from bpviz.export.devices import base_dpi, raster_image
from bpviz.export.figure import SceneFigure, StepState, step_state
from bpviz.export.heatmaps import heatmap_grid, heatmap_image
from bpviz.export.paint import FigurePainter

SLIDE_W, SLIDE_H = 960.0, 540.0  # points: 13.333 × 7.5 in
MARGIN, GAP = 28.0, 10.0
HEADING_Y, HEADING_H, TITLE_Y, TITLE_H = 14.0, 18.0, 32.0, 32.0
BODY_Y = 72.0
LEFT_W = 610.0
RIGHT_X = MARGIN + LEFT_W + 18.0
RIGHT_W = SLIDE_W - MARGIN - RIGHT_X
LABEL_H = 16.0
TEXT_FAMILY = "DejaVu Sans"
PPTX_FAMILY = "Arial"
HEADING_POINTS, TITLE_POINTS, LABEL_POINTS = 12.0, 22.0, 10.0
FORMULA_POINTS, MIN_POINTS = 16.0, 8.0
MIN_GRAPH_H = 200.0
PIXEL_FACTOR = 2.0  # pictures at twice the resolution they are shown at (96 dpi)


def text_font(points: float, bold: bool = False) -> QFont:
    font = QFont(TEXT_FAMILY)
    font.setPointSizeF(points)
    font.setBold(bold)
    return font


def text_height(text: str, font: QFont, width: float) -> float:
    """The height in points of `text` wrapped into `width` points."""
    scale = base_dpi() / 72.0  # the metrics are in figure pixels
    rect = QFontMetricsF(font).boundingRect(QRectF(0, 0, width * scale, 1e6),
                                            int(Qt.TextFlag.TextWordWrap), text)
    return rect.height() / scale


def text_width(text: str, font: QFont) -> float:
    return QFontMetricsF(font).horizontalAdvance(text) * 72.0 / base_dpi()


@dataclass(frozen=True)
class Paragraph:
    text: str
    role: str  # "formula", "aside" or "explain"
    points: float
    height: float

    @property
    def font(self) -> QFont:
        return text_font(self.points, bold=self.role == "explain_head")


@dataclass
class SlideLayout:
    """The boxes of one slide, in points from its top left."""

    heading: QRectF
    title: QRectF
    title_points: float
    graph: QRectF
    text: QRectF
    paragraphs: list[Paragraph]
    heatmaps: list[tuple[DeckTensor, QRectF, QRectF]] = field(default_factory=list)
    # (tensor, its label's box, the box its picture fits into)


def paragraphs_for(slide: DeckSlide) -> list[tuple[str, str, float]]:
    """(text, role, size relative to the formula's) of the text under the graph."""
    from bpviz.engine.explain_text import explanation_text

    found = [(line, "formula", 1.0) for line in slide.lines]
    if slide.aside:
        found.append((slide.aside, "aside", 0.85))
    for explanation in slide.explanations:
        text = explanation_text(explanation, shown=3)
        found.append((text.splitlines()[0], "explain_head", 0.9))
        found += [(line.strip(), "explain", 0.85) for line in text.splitlines()[1:]]
    return found


def fit_paragraphs(parts: list[tuple[str, str, float]], width: float,
                   room: float) -> list[Paragraph]:
    """The parts at the largest size whose wrapped height fits `room` (MIN_POINTS at least)."""
    points = FORMULA_POINTS
    while True:
        laid = [Paragraph(text, role, round(points * scale * 2) / 2,
                          text_height(text, text_font(round(points * scale * 2) / 2,
                                                      role == "explain_head"), width))
                for text, role, scale in parts]
        if points <= MIN_POINTS or sum(p.height for p in laid) + GAP * bool(laid) <= room:
            return laid
        points -= 0.5


def slide_layout(slide: DeckSlide, picture_aspect: float,
                 heatmap_aspects: list[float]) -> SlideLayout:
    """Where everything of `slide` goes; `picture_aspect` is the graph picture's w/h."""
    bottom = SLIDE_H - MARGIN
    parts = paragraphs_for(slide)
    title_points = TITLE_POINTS
    title_font = text_font(title_points, True)
    while text_width(slide.title, title_font) > SLIDE_W - 2 * MARGIN and title_points > 12:
        title_points -= 1
        title_font = text_font(title_points, True)
    room = bottom - BODY_Y - MIN_GRAPH_H - GAP
    paragraphs = fit_paragraphs(parts, LEFT_W, room)
    text_h = sum(p.height for p in paragraphs)
    text_top = bottom - text_h
    graph = QRectF(MARGIN, BODY_Y, LEFT_W, max(text_top - GAP - BODY_Y, 40.0))
    if slide.position < 0:  # the title slide: the whole graph over two lines
        graph = QRectF(MARGIN, BODY_Y, SLIDE_W - 2 * MARGIN, text_top - GAP - BODY_Y)
    layout = SlideLayout(QRectF(MARGIN, HEADING_Y, SLIDE_W - 2 * MARGIN, HEADING_H),
                         QRectF(MARGIN, TITLE_Y, SLIDE_W - 2 * MARGIN, TITLE_H), title_points,
                         fitted(graph, picture_aspect),
                         QRectF(MARGIN, text_top, graph.width(), text_h), paragraphs)
    count = len(slide.tensors)
    if count:  # each as wide as the column, or all as much smaller as the height needs
        room = bottom - BODY_Y - count * (LABEL_H + GAP)
        heights = [RIGHT_W / aspect for aspect in heatmap_aspects]
        shrink = min(1.0, room / sum(heights))
        top = BODY_Y
        for tensor, height, aspect in zip(slide.tensors, heights, heatmap_aspects):
            label = QRectF(RIGHT_X, top, RIGHT_W, LABEL_H)
            box = QRectF(RIGHT_X, top + LABEL_H, RIGHT_W, height * shrink)
            layout.heatmaps.append((tensor, label, fitted(box, aspect, top_aligned=True)))
            top += LABEL_H + height * shrink + GAP
    return layout


def fitted(box: QRectF, aspect: float, top_aligned: bool = False) -> QRectF:
    """The largest rectangle of width/height `aspect` inside `box`, centred."""
    width = min(box.width(), box.height() * aspect)
    height = width / aspect
    top = box.top() if top_aligned else box.top() + (box.height() - height) / 2
    return QRectF(box.left() + (box.width() - width) / 2, top, width, height)


def tensor_label(tensor: DeckTensor) -> str:
    from bpviz.export.tensors import has_batch_axis

    sample = ", sample 0" if has_batch_axis(tensor.key) else ""
    return f"{tensor.title}{sample}"


class DeckPictures:
    """The graph at each step of a deck, and its heatmaps, in one theme."""

    def __init__(self, deck: Deck, theme: str = "light", layout: str = "auto") -> None:
        self.deck, self.theme = deck, theme
        self.states = {p: step_state(deck.session, p) for p in deck.positions}
        backward = any(s.phase == "backward" and s.has_norms for s in self.states.values())
        self.legend = backward
        aspect = LEFT_W / (SLIDE_H - MARGIN - BODY_Y - 120.0)
        self.figure = SceneFigure(deck.document, theme, layout, aspect)
        self.plain_bounds = self.figure.bounds()
        bounds = QRectF(self.plain_bounds)
        for state in self.states.values():
            self.figure.show(state)
            bounds = bounds.united(self.figure.bounds())
        self.bounds = bounds
        self.figure.show(None)

    def close(self) -> None:
        self.figure.close()

    def painter(self, slide: DeckSlide) -> FigurePainter:
        """The graph as `slide` shows it (the plain graph on the title slide)."""
        state: StepState | None = self.states.get(slide.position)
        self.figure.show(state)
        if state is None:
            return FigurePainter(self.figure, caption=False, legend=False,
                                 bounds=self.plain_bounds)
        return FigurePainter(self.figure, caption=False, legend=self.legend,
                             bounds=self.bounds)

    def aspect(self, slide: DeckSlide) -> float:
        size = self.painter(slide).size()
        return size.width() / size.height()

    def graph_image(self, slide: DeckSlide, width_points: float) -> QImage:
        """The graph as a bitmap PIXEL_FACTOR times as fine as `width_points` shown at 96 dpi."""
        painter = self.painter(slide)
        size = painter.size()
        pixels = PIXEL_FACTOR * width_points / 72.0 * 96.0
        dpi = min(max(base_dpi() * pixels / size.width(), 10.0), 2400.0)
        return raster_image(size, painter.paint, dpi)

    def heatmap(self, tensor: DeckTensor, width_points: float | None = None) -> QImage:
        """A tensor's heatmap (sample 0), PIXEL_FACTOR times as fine as shown."""
        image = heatmap_image(tensor.key, tensor.value, 0, self.theme)
        if width_points is None:
            return image
        scale = PIXEL_FACTOR * width_points / 72.0 * 96.0 / image.width()
        return heatmap_image(tensor.key, tensor.value, 0, self.theme, scale=max(scale, 0.1))

    def heatmap_aspects(self, slide: DeckSlide) -> list[float]:
        return [heatmap_aspect(tensor) for tensor in slide.tensors]

    def layout(self, slide: DeckSlide) -> SlideLayout:
        return slide_layout(slide, self.aspect(slide), self.heatmap_aspects(slide))

    def colours(self) -> tuple[str, str, str]:
        """(background, text, muted) of the slides, as the figures' theme."""
        painter = FigurePainter(self.figure, caption=False, legend=False)
        text, muted = painter.text_colours()
        return painter.background_colour().name(), text.name(), muted.name()


def heatmap_aspect(tensor: DeckTensor) -> float:
    """Width / height of a tensor's heatmap (sample 0), without painting it."""
    grid = heatmap_grid(tensor.key, tensor.value)
    return grid.width / grid.height

