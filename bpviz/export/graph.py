"""The graph as SVG, PDF or PNG: the canvas's picture, optionally at one backprop step.

Sizes: a figure is measured in figure pixels, the canvas's scene units at
100 % zoom, base_dpi() of them per inch (96 off screen and on most screens).
The SVG's width and height are those pixels; the PDF page is the same size
(vector throughout); a PNG at D dots per inch is ceil(width × D / base) ×
ceil(height × D / base) pixels and records D.

SVG structure: every part is painted by Qt's QSvgGenerator on its own and
the parts are put together in groups a reader can find: `<g id="frames">`
holds one `<g class="group-frame" data-group=…>` per unfolded group, `<g
id="wires">` one `<g class="wire" data-source=… data-consumer=… data-port=…>`
per wire, `<g id="nodes">` one `<g class="node" data-node="<node id>">` per
node (empty for the nodes of a folded group) and one `<g class="group"
data-group=…>` per folded group's box, then `<g id="caption">` (step caption
and colour bar).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

from PySide6.QtCore import QSize
from PySide6.QtGui import QImage

from bpviz.engine.stepping import StepSession
from bpviz.export.base import Exporter, ExportError, Progress, ensure_app, png_bytes
from bpviz.export.devices import base_dpi, check_dpi, pdf_document, raster_image, svg_fragment
from bpviz.export.figure import SceneFigure, step_state
from bpviz.export.paint import CAPTION_HEIGHT, LEGEND_HEIGHT, FigurePainter
from bpviz.export.slide import SLIDE_ASPECT
from bpviz.graph import GraphDocument

SVG_NS, XLINK_NS = "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)


class GraphExporter(Exporter):
    """The figure of `document` (at `session`'s step `position`, when given).

    position: a StepSession position, -1 … len(steps) − 1; None with a
    session: the session's current position. layout: "canvas", "slide" or
    "auto", with the slide's `aspect` (width / height; bpviz.export.slide).
    """

    def __init__(self, document: GraphDocument, theme: str = "light",
                 transparent: bool = False, session: StepSession | None = None,
                 position: int | None = None, caption: bool | None = None,
                 layout: str = "canvas", aspect: float = SLIDE_ASPECT,
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        ensure_app()
        state = None
        if session is not None:
            position = session.position if position is None else position
            if not -1 <= position < len(session.steps):
                raise ExportError(f"step {position + 1} is outside 0 … {len(session.steps)}")
            state = step_state(session, position)
        self.document = document
        self.figure = SceneFigure(document, theme, layout, aspect,
                                  reserve_height=_decor_height(state, caption))
        self.figure.show(state)
        self.theme, self.transparent, self.caption = theme, transparent, caption

    def painter(self) -> FigurePainter:
        return FigurePainter(self.figure, caption=self.caption, transparent=self.transparent)

    def pixel_size(self) -> QSize:
        """The picture's size in figure pixels (1/base_dpi() inch each)."""
        size = self.painter().size()
        return QSize(int(size.width()), int(size.height()))


def _decor_height(state, caption: bool | None) -> float:
    """About how much height a caption and a colour bar add to the scene's picture."""
    captioned = state is not None if caption is None else caption
    legend = state is not None and state.has_norms
    return (CAPTION_HEIGHT if captioned else 0.0) + (LEGEND_HEIGHT if legend else 0.0)


class SvgExporter(GraphExporter):
    extensions = (".svg",)

    def data(self) -> bytes:
        """The SVG document (UTF-8)."""
        figure_painter = self.painter()
        size = self.pixel_size()
        root = ET.Element(f"{{{SVG_NS}}}svg", {
            "version": "1.1", "width": str(size.width()), "height": str(size.height()),
            "viewBox": f"0 0 {size.width()} {size.height()}"})
        ET.SubElement(root, f"{{{SVG_NS}}}title").text = self.figure.name or "bpviz graph"
        defs = ET.SubElement(root, f"{{{SVG_NS}}}defs")
        _adopt(_group(root, id="background"), defs,
               svg_fragment(size, figure_painter.paint_background))
        groups = self.figure.group_items()
        frames = _group(root, id="frames")
        for name, _folded, item in (entry for entry in groups if not entry[1]):
            _adopt(_group(frames, **{"class": "group-frame", "data-group": name}), defs,
                   svg_fragment(size, lambda p, i=item: figure_painter.paint_scene(p, only=[i])))
        wires = _group(root, id="wires")
        for (source, consumer, port), item in self.figure.wire_items():
            group = _group(wires, **{"class": "wire", "data-source": source,
                                     "data-consumer": consumer, "data-port": str(port)})
            _adopt(group, defs, svg_fragment(
                size, lambda p, i=item: figure_painter.paint_scene(p, only=[i])))
        nodes = _group(root, id="nodes")
        for index, node_id in enumerate(self.figure.node_ids):
            item = self.figure.node_item(node_id)
            group = _group(nodes, **{"class": "node", "id": f"node-{index}-{_slug(node_id)}",
                                     "data-node": node_id, "data-op": item.op})
            _adopt(group, defs, svg_fragment(
                size, lambda p, i=item: figure_painter.paint_scene(p, only=[i])))
        for name, _folded, item in (entry for entry in groups if entry[1]):
            _adopt(_group(nodes, **{"class": "group", "data-group": name}), defs,
                   svg_fragment(size, lambda p, i=item: figure_painter.paint_scene(p, only=[i])))
        _adopt(_group(root, id="caption"), defs, svg_fragment(size, figure_painter.paint_decor))
        ET.indent(root, space=" ")
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)

    def encode(self, data: bytes) -> bytes:
        return data


def _group(parent: ET.Element, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, f"{{{SVG_NS}}}g", attributes)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:60]


def _adopt(group: ET.Element, defs: ET.Element, fragment: ET.Element) -> None:
    """Move the drawing elements of `fragment` into `group` (its defs into `defs`)."""
    for child in list(fragment):
        tag = child.tag.rsplit("}", 1)[-1]
        if tag in ("title", "desc"):
            continue
        if tag == "defs":
            defs.extend(list(child))
            continue
        _prune(child)
        if not _empty(child):
            group.append(child)


def _empty(element: ET.Element) -> bool:
    return element.tag == f"{{{SVG_NS}}}g" and not list(element)


def _prune(element: ET.Element) -> None:
    """Drop the empty groups QSvgGenerator leaves for painter states that drew nothing."""
    for child in list(element):
        _prune(child)
        if _empty(child):
            element.remove(child)


class PdfExporter(GraphExporter):
    extensions = (".pdf",)

    def data(self) -> bytes:
        """The PDF file: one page exactly the figure's size, vector graphics and text."""
        figure_painter = self.painter()
        return pdf_document(figure_painter.size(), figure_painter.paint,
                            self.figure.name or "bpviz graph")

    def encode(self, data: bytes) -> bytes:
        return data


class PngExporter(GraphExporter):
    extensions = (".png",)

    def __init__(self, document: GraphDocument, dpi: float | None = None, **options) -> None:
        dpi = base_dpi() if dpi is None else check_dpi(dpi)
        super().__init__(document, **options)
        self.dpi = dpi

    def image_size(self) -> QSize:
        size, scale = self.painter().size(), self.dpi / base_dpi()
        return QSize(math.ceil(size.width() * scale), math.ceil(size.height() * scale))

    def data(self) -> QImage:
        figure_painter = self.painter()
        return raster_image(figure_painter.size(), figure_painter.paint, self.dpi)

    def encode(self, data: QImage) -> bytes:
        return png_bytes(data)
