"""A slide deck as PowerPoint (.pptx), through python-pptx: for PowerPoint, Keynote,
Google Slides and LibreOffice Impress.

16:9 slides (13.33 × 7.5 in), laid out as bpviz.export.deck_layout places
things: the step and its title, the graph at that step and the heatmaps as
PNG pictures at twice the resolution they are shown at (Google Slides takes
no SVG), the formula and explanations as editable text (Arial, sized so the
wrapped lines fit), and speaker notes with the numbers. python-pptx is
imported only when a deck is written.
"""

from __future__ import annotations

import io

from PySide6.QtCore import QRectF

from bpviz.export.base import Exporter, ExportError, Progress, ensure_app, png_bytes
from bpviz.export.deck import Deck, DeckSlide
from bpviz.export.deck_layout import (
    HEADING_POINTS,
    LABEL_POINTS,
    PPTX_FAMILY,
    SLIDE_H,
    SLIDE_W,
    DeckPictures,
    SlideLayout,
    tensor_label,
)


def _pptx():
    try:
        import pptx
    except ImportError:  # a declared dependency; this only guards a broken install
        raise ExportError("writing a .pptx needs python-pptx (pip install python-pptx)") \
            from None
    return pptx


class DeckPptxExporter(Exporter):
    """The deck as a .pptx: the title slide, then one slide per step."""

    extensions = (".pptx",)

    def __init__(self, deck: Deck, theme: str = "light", layout: str = "auto",
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        _pptx()
        ensure_app()
        self.deck, self.theme, self.layout = deck, theme, layout

    def data(self) -> bytes:
        pptx = _pptx()
        from pptx.util import Pt

        presentation = pptx.Presentation()
        presentation.slide_width, presentation.slide_height = Pt(SLIDE_W), Pt(SLIDE_H)
        blank = presentation.slide_layouts[6]
        pictures = DeckPictures(self.deck, self.theme, self.layout)
        slides = self.deck.all_slides
        try:
            for index, slide in enumerate(slides):
                self.report(index, len(slides))
                self._slide(presentation.slides.add_slide(blank), slide, pictures)
        finally:
            pictures.close()
        self.report(len(slides), len(slides))
        buffer = io.BytesIO()
        presentation.core_properties.title = self.deck.name
        presentation.save(buffer)
        return buffer.getvalue()

    def encode(self, data: bytes) -> bytes:
        return data

    def _slide(self, page, slide: DeckSlide, pictures: DeckPictures) -> None:
        from pptx.dml.color import RGBColor

        layout: SlideLayout = pictures.layout(slide)
        background, text, muted = (RGBColor.from_string(c.lstrip("#").upper())
                                   for c in pictures.colours())
        fill = page.background.fill
        fill.solid()
        fill.fore_color.rgb = background
        _text_box(page, layout.heading, [(slide.heading, HEADING_POINTS, muted, False)])
        _text_box(page, layout.title, [(slide.title, layout.title_points, text, True)],
                  name="Title")
        _picture(page, layout.graph, png_bytes(pictures.graph_image(slide,
                                                                     layout.graph.width())),
                 "graph")
        formula = [(p.text, p.points, muted if p.role == "aside" else text,
                    p.role == "explain_head") for p in layout.paragraphs]
        if formula:
            _text_box(page, layout.text, formula, wrap=True, name="Formula")
        for tensor, label, box in layout.heatmaps:
            _text_box(page, label, [(tensor_label(tensor), LABEL_POINTS, muted, False)])
            _picture(page, box, png_bytes(pictures.heatmap(tensor, box.width())), tensor.key)
        page.notes_slide.notes_text_frame.text = slide.notes


def _text_box(page, box: QRectF, paragraphs, wrap: bool = False, name: str = "") -> None:
    """A text box at `box` (points) with one paragraph per (text, points, colour, bold)."""
    from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE
    from pptx.util import Pt

    shape = page.shapes.add_textbox(Pt(box.x()), Pt(box.y()), Pt(box.width()),
                                    Pt(box.height()))
    if name:
        shape.name = name
    frame = shape.text_frame
    frame.word_wrap = wrap
    frame.auto_size = MSO_AUTO_SIZE.NONE
    frame.vertical_anchor = MSO_ANCHOR.TOP
    frame.margin_left = frame.margin_right = frame.margin_top = frame.margin_bottom = 0
    for index, (text, points, colour, bold) in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if index == 0 else frame.add_paragraph()
        run = paragraph.add_run()
        run.text = text
        run.font.size = Pt(points)
        run.font.bold = bold
        run.font.name = PPTX_FAMILY
        run.font.color.rgb = colour


def _picture(page, box: QRectF, content: bytes, name: str) -> None:
    from pptx.util import Pt

    picture = page.shapes.add_picture(io.BytesIO(content), Pt(box.x()), Pt(box.y()),
                                      Pt(box.width()), Pt(box.height()))
    picture.name = name
