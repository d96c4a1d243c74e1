"""Graph exports laid out to fit a slide: wrapped rows near 16:9, every node, the file untouched."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

from bpviz.cli import main
from bpviz.export.animation import FramesExporter
from bpviz.export.figure import SceneFigure
from bpviz.export.graph import PngExporter
from bpviz.export.slide import LayoutError, parse_aspect, wants_slide
from bpviz.export.tikz import TikzExporter
from bpviz.graph import load_graph
from tests.export.helpers import EXAMPLES, TINY, session_for

DIGITS = EXAMPLES / "digits_cnn.json"
SVG_G = "{http://www.w3.org/2000/svg}g"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def ratio(path) -> float:
    with Image.open(path) as image:
        return image.width / image.height


def test_digits_cnn_fits_a_slide_and_its_file_is_unchanged(qapp, capsys, tmp_path):
    before = DIGITS.read_bytes()
    for name, argv in [("slide", ["--layout", "slide"]), ("canvas", ["--layout", "canvas"]),
                       ("square", ["--aspect", "1:1"])]:
        assert run(capsys, "export", DIGITS, "--to", tmp_path / f"{name}.png", *argv)[0] == 0
    assert 1.2 <= ratio(tmp_path / "slide.png") <= 2.4
    assert ratio(tmp_path / "canvas.png") > 10  # the canvas's one long row, as before
    assert 0.8 <= ratio(tmp_path / "square.png") <= 1.25
    assert DIGITS.read_bytes() == before


def test_the_default_wraps_only_pictures_over_three_to_one(qapp, capsys, tmp_path):
    run(capsys, "export", DIGITS, "--to", tmp_path / "digits.png")
    assert 1.2 <= ratio(tmp_path / "digits.png") <= 2.4
    resnet = EXAMPLES / "resnet_blocks.json"
    run(capsys, "export", resnet, "--to", tmp_path / "auto.png")
    run(capsys, "export", resnet, "--to", tmp_path / "canvas.png", "--layout", "canvas")
    with Image.open(tmp_path / "auto.png") as auto, Image.open(tmp_path / "canvas.png") as canvas:
        assert auto.size == canvas.size
    assert wants_slide("auto", 3100, 1000) and not wants_slide("auto", 2900, 1000)


def test_slide_svg_has_every_node_and_leaves_the_document_alone(qapp):
    from bpviz.export.graph import SvgExporter

    document = load_graph(DIGITS)
    copy = document.copy()
    root = ET.fromstring(SvgExporter(document, layout="slide").export())
    nodes = [g.get("data-node") for g in root.iter(SVG_G) if g.get("class") == "node"]
    assert sorted(nodes) == sorted(document.nodes)
    assert 1.2 <= float(root.get("width")) / float(root.get("height")) <= 2.4
    assert document == copy and all(node.pos is None for node in document.nodes.values())


@pytest.mark.parametrize("name", ["digits_cnn", "tiny_cnn", "resnet_blocks",
                                  "deep_residual_20", "vgg16"])
def test_slide_rows_keep_nodes_apart(qapp, name):
    figure = SceneFigure(load_graph(EXAMPLES / f"{name}.json"), layout="slide")
    try:
        rects = [item.mapRectToScene(item.rect()) for item in figure.scene.nodes.values()]
        rows = {round(rect.center().y()) for rect in rects}
        assert len(rows) > 1
        for a, b in itertools.combinations(rects, 2):
            assert not a.adjusted(-10, -10, 10, 10).intersects(b), name
        bounds = figure.bounds()
        assert 1.2 <= bounds.width() / bounds.height() <= 2.4
    finally:
        figure.close()


def test_gif_frames_and_a_step_follow_the_layout(qapp):
    document, *_, session = session_for(DIGITS)
    frames = FramesExporter(document, session, dpi=48, layout="slide").data()
    assert len({(image.width(), image.height()) for image in frames}) == 1
    assert 1.2 <= frames[0].width() / frames[0].height() <= 2.4
    wide = FramesExporter(document, session, dpi=48, layout="canvas").data()
    assert wide[0].width() / wide[0].height() > 2.4
    step = PngExporter(document, session=session, position=20, layout="slide").export()
    assert 1.2 <= step.width() / step.height() <= 2.4


def tikz_rows(text: str) -> set[float]:
    return {float(y) for y in re.findall(r"\) at \([-\d.]+, ([-\d.]+)\)", text)}


def test_tikz_follows_the_layout():
    document = load_graph(DIGITS)
    assert len(tikz_rows(TikzExporter(document, layout="canvas").export())) == 1
    slide = TikzExporter(document, layout="slide").export()
    assert len(tikz_rows(slide)) >= 2
    assert slide.count(r"\node[layer") == len(document.nodes)
    assert len(tikz_rows(TikzExporter(load_graph(TINY), layout="slide").export())) >= 2


@pytest.mark.parametrize("argv, message", [
    (["--layout", "diagonal"], "choose auto, canvas, slide"),
    (["--aspect", "wide"], "aspect ratio like 16:9"),
    (["--aspect", "16:0"], "aspect ratio like 16:9"),
    (["--aspect", "100:1"], "between 0.25 and 8"),
    (["--layout", "canvas", "--aspect", "4:3"], "--aspect is for --layout slide"),
])
def test_bad_layout_or_aspect_exits_2(qapp, capsys, tmp_path, argv, message):
    try:  # argparse's own errors exit; ours return 2
        code, _, err = run(capsys, "export", DIGITS, "--to", tmp_path / "g.png", *argv)
    except SystemExit as exit_info:
        code, err = exit_info.code, capsys.readouterr().err
    assert code == 2 and message in err
    assert not (tmp_path / "g.png").exists()


def test_layout_does_not_apply_to_tensors(capsys, tmp_path):
    code, _, err = run(capsys, "export", DIGITS, "--to", tmp_path / "t.npz", "--layout", "slide")
    assert code == 2 and "--layout does not apply" in err


def test_parse_aspect():
    assert parse_aspect("16:9") == pytest.approx(16 / 9)
    assert parse_aspect(" 4:3 ") == pytest.approx(4 / 3)
    assert parse_aspect("1.5") == 1.5
    for bad in ("", "16:9:1", "0", "-4:3", "nan", "inf"):
        with pytest.raises(LayoutError):
            parse_aspect(bad)


def test_dialog_layout_changes_the_preview_and_the_export(qtbot, tmp_path):
    from bpviz.ui.export_dialog import ExportDialog

    widget = ExportDialog(load_graph(DIGITS))
    qtbot.addWidget(widget)
    widget.set_kind("png")
    widget.set_layout("canvas")
    wide = widget._preview_image
    assert wide.width() / wide.height() > 10
    widget.set_layout("slide", 16 / 9)
    assert 1.2 <= widget._preview_image.width() / widget._preview_image.height() <= 2.4
    widget.set_kind("tex")
    assert widget.layout_choice.isEnabled()
    widget.set_kind("png")
    with qtbot.waitSignal(widget.export_finished, timeout=60_000) as outcome:
        assert widget.export_to(tmp_path / "slide.png")
    assert outcome.args[0]
    assert 1.2 <= ratio(tmp_path / "slide.png") <= 2.4
