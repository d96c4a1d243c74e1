"""A slide deck as a PDF straight from Qt (no LaTeX): one 16:9 page per slide.

Every page is SLIDE_W × SLIDE_H points (13.33 × 7.5 in) and painted with
QPainter on a QPdfWriter: the graph in vectors (the canvas's scene), the text
as text, the heatmaps as bitmaps. `slide_image` paints one slide as a
bitmap the same way (previews, the README picture). Layout:
bpviz.export.deck_layout.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter

from bpviz.export.base import Exporter, Progress, ensure_app, set_dpi
from bpviz.export.deck import Deck, DeckSlide
from bpviz.export.deck_layout import (
    HEADING_POINTS,
    LABEL_POINTS,
    SLIDE_H,
    SLIDE_W,
    DeckPictures,
    SlideLayout,
    tensor_label,
    text_font,
)
from bpviz.export.devices import base_dpi


def _px(rect: QRectF) -> QRectF:
    """Points → figure pixels (the devices here run at base_dpi())."""
    k = base_dpi() / 72.0
    return QRectF(rect.x() * k, rect.y() * k, rect.width() * k, rect.height() * k)


def paint_slide(painter: QPainter, slide: DeckSlide, pictures: DeckPictures,
                layout: SlideLayout) -> None:
    """One slide, in figure pixels from the page's top left."""
    background, text, muted = (QColor(c) for c in pictures.colours())
    painter.fillRect(_px(QRectF(0, 0, SLIDE_W, SLIDE_H)), background)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
    _text(painter, layout.heading, slide.heading, text_font(HEADING_POINTS), muted)
    _text(painter, layout.title, slide.title, text_font(layout.title_points, True), text)
    figure = pictures.painter(slide)
    size, target = figure.size(), _px(layout.graph)
    painter.save()
    painter.translate(target.topLeft())
    painter.scale(target.width() / size.width(), target.height() / size.height())
    figure.paint(painter)
    painter.restore()
    top = layout.text.top()
    for paragraph in layout.paragraphs:
        colour = muted if paragraph.role == "aside" else text
        box = QRectF(layout.text.left(), top, layout.text.width(), paragraph.height)
        _text(painter, box, paragraph.text, paragraph.font, colour, wrap=True)
        top += paragraph.height
    for tensor, label, box in layout.heatmaps:
        _text(painter, label, tensor_label(tensor), text_font(LABEL_POINTS), muted)
        image = pictures.heatmap(tensor, box.width())
        painter.drawImage(_px(box), image)


def _text(painter: QPainter, box: QRectF, text: str, font, colour: QColor,
          wrap: bool = False) -> None:
    painter.setFont(font)
    painter.setPen(colour)
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop
    if wrap:
        painter.drawText(_px(box), int(flags | Qt.TextFlag.TextWordWrap), text)
    else:
        painter.drawText(_px(box), int(flags | Qt.AlignmentFlag.AlignVCenter), text)


def slide_image(slide: DeckSlide, pictures: DeckPictures, dpi: float = 96.0) -> QImage:
    """One slide as a bitmap at `dpi` (SLIDE_W / 72 × dpi pixels wide)."""
    scale = dpi / base_dpi()
    image = QImage(round(SLIDE_W / 72 * dpi), round(SLIDE_H / 72 * dpi),
                   QImage.Format.Format_RGB32)
    set_dpi(image, base_dpi())
    layout = pictures.layout(slide)
    painter = QPainter(image)
    try:
        painter.scale(scale, scale)
        paint_slide(painter, slide, pictures, layout)
    finally:
        painter.end()
    set_dpi(image, dpi)
    return image


class DeckPdfExporter(Exporter):
    """The deck as a PDF: the title slide, then one page per step."""

    extensions = (".pdf",)

    def __init__(self, deck: Deck, theme: str = "light", layout: str = "auto",
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        ensure_app()
        self.deck, self.theme, self.layout = deck, theme, layout

    def data(self) -> bytes:
        pictures = DeckPictures(self.deck, self.theme, self.layout)
        array = QByteArray()
        buffer = QBuffer(array)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QPdfWriter(buffer)
        writer.setResolution(round(base_dpi()))
        writer.setCreator("bpviz")
        writer.setTitle(self.deck.name)
        writer.setPageSize(QPageSize(QSizeF(SLIDE_W, SLIDE_H), QPageSize.Unit.Point,
                                     "slide 16:9", QPageSize.SizeMatchPolicy.ExactMatch))
        writer.setPageMargins(QMarginsF(0, 0, 0, 0))
        slides = self.deck.all_slides
        painter = QPainter(writer)
        try:
            for index, slide in enumerate(slides):
                self.report(index, len(slides))
                if index:
                    writer.newPage()
                painter.save()
                paint_slide(painter, slide, pictures, pictures.layout(slide))
                painter.restore()
        finally:
            painter.end()
            buffer.close()
            pictures.close()
        self.report(len(slides), len(slides))
        return bytes(array.data())

    def encode(self, data: bytes) -> bytes:
        return data
