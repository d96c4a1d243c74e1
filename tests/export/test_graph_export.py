"""Graph pictures: SVG, PDF and PNG, read back with readers that are not Qt's."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from bpviz.export.base import ExportError
from bpviz.export.graph import PdfExporter, PngExporter, SvgExporter
from bpviz.graph import load_graph
from tests.export.helpers import (
    EXAMPLES,
    RESIDUAL,
    TINY,
    non_blank,
    pdf_image_count,
    pdf_page_pixels,
    pdf_text,
    session_for,
)

SVG = "{http://www.w3.org/2000/svg}"


def node_groups(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if g.get("class") == "node"]


@pytest.mark.parametrize("path", [TINY, RESIDUAL])
def test_svg_parses_and_has_one_group_per_node(qapp, tmp_path, path):
    document = load_graph(path)
    out = SvgExporter(document).export(tmp_path / "graph.svg")
    root = ET.parse(out).getroot()
    assert root.tag == f"{SVG}svg"
    groups = node_groups(root)
    assert sorted(g.get("data-node") for g in groups) == sorted(document.nodes)
    for group in groups:  # each group really draws its node: a box and its texts
        texts = "".join(t.text or "" for t in group.iter(f"{SVG}text"))
        assert group.get("data-node") in texts
        assert list(group.iter(f"{SVG}path")) or list(group.iter(f"{SVG}rect"))
        assert not list(group.iter(f"{SVG}image"))  # vectors, never a cached bitmap
    wires = [g for g in root.iter(f"{SVG}g") if g.get("class") == "wire"]
    assert len(wires) == sum(len(node.inputs) for node in document.nodes.values())
    assert len({g.get("id") for g in groups}) == len(groups)


def test_svg_without_path_returns_the_document(qapp):
    data = SvgExporter(load_graph(TINY)).export()
    assert isinstance(data, bytes) and data.startswith(b"<?xml")
    ET.fromstring(data)


def test_svg_of_a_backward_step_colours_the_wires(qapp):
    document, *_, session = session_for(RESIDUAL)
    last = len(session.steps) - 1
    plain = ET.fromstring(SvgExporter(document, session=session, position=-1).export())
    done = ET.fromstring(SvgExporter(document, session=session, position=last).export())

    def strokes(root):
        return {g.get("data-consumer"): {e.get("stroke") for e in g.iter() if e.get("stroke")}
                for g in root.iter(f"{SVG}g") if g.get("class") == "wire"}

    assert strokes(plain) != strokes(done)
    texts = "".join(t.text or "" for t in done.iter(f"{SVG}text"))
    assert "‖g‖" in texts and f"step {last + 1}/{len(session.steps)}" in texts
    assert session.position == -1  # the session was left where it was


def test_pdf_renders_to_a_non_blank_page(qapp, tmp_path):
    out = PdfExporter(load_graph(RESIDUAL)).export(tmp_path / "graph.pdf")
    assert out.read_bytes().startswith(b"%PDF")
    assert non_blank(pdf_page_pixels(out))


def test_pdf_is_vector_with_real_text(qapp, tmp_path):
    document = load_graph(RESIDUAL)
    out = PdfExporter(document).export(tmp_path / "graph.pdf")
    text = pdf_text(out)
    assert all(node_id in text for node_id in document.nodes)
    assert pdf_image_count(out) == 0  # no bitmaps


def test_pdf_page_is_the_figure_size(qapp, tmp_path):
    document = load_graph(TINY)
    out = PdfExporter(document).export(tmp_path / "graph.pdf")
    pixels = pdf_page_pixels(out, dpi=96)
    svg = ET.fromstring(SvgExporter(document).export())
    assert abs(pixels.shape[1] - int(svg.get("width"))) <= 2
    assert abs(pixels.shape[0] - int(svg.get("height"))) <= 2


@pytest.mark.parametrize("dpi", [72, 150, 300])
def test_png_has_the_pixel_size_of_its_dpi(qapp, tmp_path, dpi):
    document = load_graph(TINY)
    svg = ET.fromstring(SvgExporter(document).export())
    width, height = int(svg.get("width")), int(svg.get("height"))  # 1/96 inch each
    out = PngExporter(document, dpi=dpi).export(tmp_path / "graph.png")
    with Image.open(out) as image:
        assert image.size == (math.ceil(width * dpi / 96), math.ceil(height * dpi / 96))
        assert round(image.info["dpi"][0]) == dpi
        assert non_blank(np.asarray(image.convert("RGB")))


def test_png_themes_and_transparency(qapp):
    document = load_graph(TINY)
    light = PngExporter(document, dpi=48).export()
    dark = PngExporter(document, dpi=48, theme="dark").export()
    clear = PngExporter(document, dpi=48, transparent=True).export()
    assert light.pixelColor(1, 1).lightness() > 240
    assert dark.pixelColor(1, 1).lightness() < 40
    assert clear.pixelColor(1, 1).alpha() == 0


def test_bad_dpi_and_unwritable_paths_are_clear_errors(qapp, tmp_path):
    document = load_graph(TINY)
    with pytest.raises(ExportError, match="DPI"):
        PngExporter(document, dpi=0)
    with pytest.raises(ExportError, match="does not exist"):
        SvgExporter(document).export(tmp_path / "missing" / "graph.svg")
    (tmp_path / "old.svg").write_text("old")
    with pytest.raises(ExportError, match="folder"):
        SvgExporter(document).export(tmp_path)
    assert (tmp_path / "old.svg").read_text() == "old"


def svg_texts(element: ET.Element) -> list[str]:
    return [t.text.strip() for t in element.iter(f"{SVG}text") if t.text and t.text.strip()]


def test_svg_draws_folded_groups_as_boxes_and_unfolded_ones_framed(qapp):
    """ResNet-50 with layer1 unfolded: the other stages are boxes with their figures,
    layer1 a frame around its nodes, as on the canvas."""
    document = load_graph(EXAMPLES / "resnet50.json")
    document.set_folded("layer1", False)
    root = ET.fromstring(SvgExporter(document, layout="canvas").export())
    boxes = {g.get("data-group"): svg_texts(g)
             for g in root.iter(f"{SVG}g") if g.get("class") == "group"}
    assert sorted(boxes) == ["head", "layer2", "layer3", "layer4", "stem"]
    # torchvision's layer4: 1024 channels at 14×14 in, 2048 at 7×7 out; the receptive
    # field at its end is 427 pixels (Araujo et al., Distill 2019).
    assert {"in 1024×14×14", "out 2048×7×7", "field 427×427"} <= set(boxes["layer4"])
    frames = [g for g in root.iter(f"{SVG}g") if g.get("class") == "group-frame"]
    assert [g.get("data-group") for g in frames] == ["layer1"]
    assert "⊟ layer1" in svg_texts(frames[0])
    # Every parameter is written once, in a box or on a node: torchvision's count.
    written = [int(match.replace(",", "")) for g in root.iter(f"{SVG}g")
               if g.get("class") in ("group", "node")
               for text in svg_texts(g) for match in re.findall(r"^([\d,]+) params?", text)]
    assert sum(written) == 25_557_032
