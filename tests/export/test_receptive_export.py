"""`bpviz export --receptive-field`: the nested boxes and the effective field, for a slide.

The boxes are checked where the published sizes put them (Yu & Koltun's
dilated stack: 3×3, 7×7 and 15×15 around one unit), read back from the
PNG's pixels; SVG and PDF with independent readers (ElementTree, pdfium).
"""

from __future__ import annotations

import io
import math
import xml.etree.ElementTree as ET

import numpy as np
import pypdfium2
import pytest
from PIL import Image

from bpviz.cli import main
from bpviz.export.base import png_bytes
from bpviz.export.devices import base_dpi
from bpviz.export.receptive import (
    BOX_COLOURS,
    MARGIN,
    PANEL_TITLE_H,
    TITLE_H,
    ReceptiveFieldExporter,
)
from tests.export.helpers import EXAMPLES, TINY, session_for

DILATED = EXAMPLES / "dilated_convolutions.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(scope="module")
def dilated():
    return session_for(DILATED)[-1]


def rgb(colour: str) -> np.ndarray:
    return np.array([int(colour[k:k + 2], 16) for k in (1, 3, 5)])


def test_png_draws_the_3_7_15_boxes_where_the_published_sizes_put_them(qapp, dilated):
    exporter = ReceptiveFieldExporter(dilated, "dil3", "png", unit=(0, 16, 16))
    assert exporter.unit == (0, 16, 16)
    image = exporter.export()
    figure = exporter.figure
    pixels = np.asarray(Image.open(_png(image)).convert("RGB")).astype(int)
    assert pixels.shape[:2] == (math.ceil(figure.size.height()), math.ceil(figure.size.width()))
    cell = figure.cell
    assert cell * 32 == figure.panel.width()
    panel_top = MARGIN + TITLE_H + PANEL_TITLE_H
    for k, size in enumerate((3, 7, 15)):
        top = left = 16 - size // 2  # centred on the unit (16, 16)
        y = round(panel_top + top * cell + 1)
        x = round(MARGIN + (left + size / 2) * cell)
        assert np.abs(pixels[y, x] - rgb(BOX_COLOURS[k])).sum() < 40, f"{size}×{size} box"
        # One input pixel further out, the picture shows no box line.
        assert np.abs(pixels[y - cell, x] - rgb(BOX_COLOURS[k])).sum() > 40


def _png(image) -> io.BytesIO:
    return io.BytesIO(png_bytes(image))


def test_the_heat_map_is_dark_outside_the_field_and_lit_inside(qapp, dilated):
    exporter = ReceptiveFieldExporter(dilated, "dil2", "png", unit=(1, 10, 20))
    figure = exporter.figure
    pixels = np.asarray(Image.open(_png(exporter.export())).convert("RGB"))
    cell, panel_top = figure.cell, MARGIN + TITLE_H + PANEL_TITLE_H
    panel_left = MARGIN + figure.panel.width() + 44.0

    def at(i, j):  # the middle of input pixel (i, j) in the heat map
        return pixels[int(panel_top + (i + 0.5) * cell), int(panel_left + (j + 0.5) * cell)]

    field = dilated.effective_receptive_field("dil2", 0, 1, 10, 20).sum(axis=0)
    dark = at(0, 0)
    assert field[0, 0] == 0 and field[10, 20] > 0
    assert np.array_equal(at(30, 5), dark)  # far outside the 7×7 box: nothing seen
    assert not np.array_equal(at(10, 20), dark)


def test_svg_parses_and_pdf_has_one_page_of_the_figures_size(qapp, dilated, tmp_path):
    svg = ReceptiveFieldExporter(dilated, "dil3", "svg").export(tmp_path / "rf.svg")
    root = ET.parse(svg).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(root.findall(".//{http://www.w3.org/2000/svg}image")) >= 2
    exporter = ReceptiveFieldExporter(dilated, "dil3", "pdf")
    pdf = pypdfium2.PdfDocument(str(exporter.export(tmp_path / "rf.pdf")))
    assert len(pdf) == 1
    width, height = pdf[0].get_size()
    points = 72 / base_dpi()
    assert width == pytest.approx(exporter.figure.size.width() * points, abs=1.5)
    assert height == pytest.approx(exporter.figure.size.height() * points, abs=1.5)


def test_the_default_unit_sees_something(qapp):
    session = session_for(TINY)[-1]
    exporter = ReceptiveFieldExporter(session, "r1", "png")
    channel, i, j = exporter.unit
    assert session.effective_receptive_field("r1", 0, channel, i, j).sum() > 0


def test_cli_writes_png_svg_and_pdf(qapp, capsys, tmp_path):
    for ending in ("png", "svg", "pdf"):
        out = tmp_path / f"rf.{ending}"
        code, text, _ = run(capsys, "export", DILATED, "--receptive-field", "dil3",
                            "--to", out, "--unit", "1,16,16")
        assert code == 0 and "a receptive field" in text and out.stat().st_size > 0
    run(capsys, "export", DILATED, "--receptive-field", "dil3", "--to", tmp_path / "big.png",
        "--dpi", "192")
    with Image.open(tmp_path / "rf.png") as small, Image.open(tmp_path / "big.png") as big:
        assert big.size == (2 * small.size[0], 2 * small.size[1])


@pytest.mark.parametrize("argv, message", [
    (["--receptive-field", "fc", "--to", "{tmp}/rf.png"], "no spatial receptive field"),
    (["--receptive-field", "nope", "--to", "{tmp}/rf.png"], "'nope': no such node"),
    (["--receptive-field", "c1", "--to", "{tmp}/rf.gif"], "writes .png, .svg or .pdf"),
    (["--receptive-field", "c1", "--unit", "9,0", "--to", "{tmp}/rf.png"],
     "outside the 8×8 output of 'c1'"),
    (["--receptive-field", "c1", "--unit", "9,0,0", "--to", "{tmp}/rf.png"],
     "outside the 8×8×8 output of 'c1'"),
    (["--receptive-field", "c1", "--frames", "--to", "{tmp}/f"], "choose one of"),
    (["--receptive-field", "c1", "--step", "2", "--to", "{tmp}/rf.png"],
     "--step does not apply"),
])
def test_bad_receptive_field_arguments_exit_2(qapp, capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, "export", TINY, *argv)
    assert code == 2 and message in err, err
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
