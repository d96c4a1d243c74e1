"""`bpviz export --deck`: PowerPoint, Beamer and Qt PDF decks, read back by independent
readers (python-pptx, pdflatex and PDFium), their selection options and their errors."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from bpviz.cli import main
from bpviz.graph import load_graph
from tests.export.helpers import EXAMPLES, compile_tex, needs_beamer, open_pdf, pdf_text

pptx = pytest.importorskip("pptx")

DIGITS = EXAMPLES / "digits_cnn.json"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def page_count(pdf) -> int:
    document = open_pdf(pdf)
    try:
        return len(document)
    finally:
        document.close()


@pytest.fixture(scope="module")
def backward_decks(tmp_path_factory):
    """The digits CNN's backward pass as .pptx, .tex (compiled) and Qt .pdf."""
    folder = tmp_path_factory.mktemp("deck")
    for name in ("talk.pptx", "talk.tex", "qt.pdf"):  # (pdflatex makes talk.pdf)
        code = main(["export", str(DIGITS), "--deck", "--phase", "backward",
                     "--to", str(folder / name)])
        assert code == 0
    return folder


def test_pptx_has_the_title_and_one_slide_per_backward_step(qapp, backward_decks):
    presentation = pptx.Presentation(str(backward_decks / "talk.pptx"))
    nodes = load_graph(DIGITS).nodes  # every node takes one backward step
    slides = list(presentation.slides)
    assert len(slides) == len(nodes) + 1
    assert presentation.slide_width * 9 == presentation.slide_height * 16
    titles = [next(s.text_frame.text for s in slide.shapes if s.name == "Title")
              for slide in slides[1:]]
    assert sorted(re.search(r"'(.+)'", title)[1] for title in titles) == sorted(nodes)
    assert all(title.endswith("backward") for title in titles)
    loss = slides[1 + titles.index("softmax_cross_entropy 'loss' · backward")]
    labels = [s.text_frame.text for s in loss.shapes if s.has_text_frame]
    assert "∂L/∂fc sent back by loss, sample 0" in labels  # what the loss sends back
    for slide in slides[1:]:
        formula = next(s for s in slide.shapes if s.name == "Formula")
        assert "∂L/∂" in formula.text_frame.text  # editable text, not a picture
        notes = slide.notes_slide.notes_text_frame.text
        assert "Loss L = " in notes and "‖·‖ = " in notes
        for picture in (s for s in slide.shapes if s.shape_type == 13):
            with Image.open(io.BytesIO(picture.image.blob)) as image:
                shown = picture.width / 914400 * 96  # EMU → inches → pixels at 96 dpi
                assert abs(image.size[0] - 2 * shown) <= 3  # twice the resolution


def test_pptx_text_stays_on_its_slide(qapp, backward_decks):
    presentation = pptx.Presentation(str(backward_decks / "talk.pptx"))
    width, height = presentation.slide_width, presentation.slide_height
    for slide in presentation.slides:
        boxes = [(s.left, s.top, s.left + s.width, s.top + s.height) for s in slide.shapes]
        assert all(0 <= x0 and 0 <= y0 and x1 <= width and y1 <= height
                   for x0, y0, x1, y1 in boxes)
        for a, first in enumerate(boxes):  # nothing covers anything else
            for second in boxes[a + 1:]:
                overlap_x = min(first[2], second[2]) - max(first[0], second[0])
                overlap_y = min(first[3], second[3]) - max(first[1], second[1])
                assert overlap_x <= 0 or overlap_y <= 0


@needs_beamer
def test_beamer_compiles_to_as_many_pages_as_the_pptx_has_slides(qapp, backward_decks):
    tex = backward_decks / "talk.tex"
    source = tex.read_text()
    assert source.count(r"\begin{frame}") == len(load_graph(DIGITS).nodes) + 1
    assert r"\begin{tikzpicture}" in source and r"\frac{\partial L}" in source
    figures = list((backward_decks / "talk_figures").glob("*.png"))
    assert figures and all(name in source for name in (f.name for f in figures))
    pdf = compile_tex(tex)
    slides = len(pptx.Presentation(str(backward_decks / "talk.pptx")).slides)
    assert page_count(pdf) == slides


def test_qt_pdf_has_a_16_9_page_per_slide(qapp, backward_decks):
    pdf = backward_decks / "qt.pdf"
    document = open_pdf(pdf)
    try:
        assert len(document) == len(load_graph(DIGITS).nodes) + 1
        for page in document:
            width, height = page.get_size()
            assert width == pytest.approx(960, abs=1) and height == pytest.approx(540, abs=1)
    finally:
        document.close()
    text = pdf_text(pdf)
    assert "Step 13 of 24 · backward" in text and "Step 24 of 24 · backward" in text
    assert "Step 12 of 24" not in text


@needs_beamer
def test_overlays_make_one_frame_with_a_page_per_step(qapp, capsys, tmp_path):
    tex = tmp_path / "over.tex"
    assert run(capsys, "export", DIGITS, "--deck", "--overlays", "--steps", "3-7",
               "--to", tex)[0] == 0
    source = tex.read_text()
    assert source.count(r"\begin{frame}") == 2  # the title and the one with overlays
    assert [int(n) for n in re.findall(r"\\only<(\d+)>", source)] == [1, 2, 3, 4, 5]
    assert page_count(compile_tex(tex)) == 1 + 5


def test_steps_and_phase_choose_the_slides(qapp, capsys, tmp_path):
    pdf = tmp_path / "some.pdf"
    assert run(capsys, "export", DIGITS, "--deck", "--steps", "10-16", "--phase", "backward",
               "--update", "sgd", "--to", pdf)[0] == 0
    text = pdf_text(pdf)
    found = sorted(int(n) for n in re.findall(r"Step (\d+) of 29", text))
    assert found == [13, 14, 15, 16] and page_count(pdf) == 5
    pdf = tmp_path / "update.pdf"
    assert run(capsys, "export", DIGITS, "--deck", "--phase", "update", "--update", "adam",
               "--to", pdf)[0] == 0
    text = pdf_text(pdf)
    trainable = [n for n in load_graph(DIGITS).nodes.values() if n.op in
                 ("conv2d", "batchnorm", "dense")]
    assert page_count(pdf) == 1 + len(trainable)
    assert "weight before" in text and "weight after" in text


def test_explain_puts_the_entry_on_its_backward_slide(qapp, capsys, tmp_path):
    from bpviz.engine.stepping import StepSession
    from bpviz.graph import build_network
    from bpviz.graph.batch import random_batch

    out = tmp_path / "explained.pptx"
    assert run(capsys, "export", DIGITS, "--deck", "--explain", "fc:grad/weight:3,5",
               "--batch", "4", "--to", out)[0] == 0
    # ∂L/∂W[3,5] = Σ_b ∂L/∂z[b,3] · u[b,5], from the pass's own tensors
    network = build_network(load_graph(DIGITS), seed=0, dtype=np.float64)
    feeds, targets = random_batch(network, 4, 0, np.float64)
    session = StepSession(network, feeds, targets)
    backward = next(s for s in session.steps if s.node == "fc" and s.phase == "backward")
    expected = float(np.sum(backward.grad_output[:, 3] * session.output("flat")[:, 5]))
    slides = list(pptx.Presentation(str(out)).slides)
    texts = [next((s.text_frame.text for s in slide.shapes if s.name == "Formula"), "")
             for slide in slides]
    holding = [k for k, text in enumerate(texts) if "fc/grad/weight[3,5]" in text]
    assert len(holding) == 1
    title = next(s.text_frame.text for s in slides[holding[0]].shapes if s.name == "Title")
    assert title == "dense 'fc' · backward"
    value = re.search(r"fc/grad/weight\[3,5\] = (\S+)", texts[holding[0]])[1]
    assert float(value.replace("−", "-")) == pytest.approx(expected, rel=1e-3)


@needs_beamer
def test_explain_in_beamer_is_latex_and_compiles(qapp, capsys, tmp_path):
    tex = tmp_path / "explained.tex"
    assert run(capsys, "export", DIGITS, "--deck", "--steps", "14", "--explain",
               "fc:grad/weight:3,5", "--to", tex)[0] == 0
    source = tex.read_text()
    assert r"\begin{aligned}" in source and "fc/grad/weight" in source
    assert page_count(compile_tex(tex)) == 2


@pytest.mark.parametrize("argv, message", [
    (["--steps", "12-5"], "the range is empty"),
    (["--steps", "90-99"], "selects no step"),
    (["--steps", "1-3", "--phase", "backward"], "has no backward step"),
    (["--phase", "sideways"], "--phase must be one of"),
    (["--phase", "update"], "no update steps"),
    (["--explain", "nope:out:0"], "no node 'nope'"),
    (["--explain", "fc:grad/nothing:0"], "--explain fc:grad/nothing:0"),
    (["--explain", "fc"], "NODE:KEY:I,J"),
    (["--explain", "fc:out:0,99"], "--explain fc:out:0,99"),
    (["--phase", "forward", "--explain", "fc:grad/weight:0,0"], "belongs on step 14"),
    (["--explain", "fc:grad/weight:0,0", "--explain", "fc:grad/weight:0,1", "--explain",
      "fc:grad/bias:0"], "at most 2 explanations fit on one slide"),
])
def test_bad_deck_options_exit_2_with_a_message(qapp, capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "export", DIGITS, "--deck", *argv, "--to", tmp_path / "d.pdf")
    assert code == 2 and message in err
    assert not (tmp_path / "d.pdf").exists()


def test_deck_endings_and_overlays_are_checked(qapp, capsys, tmp_path):
    code, _, err = run(capsys, "export", DIGITS, "--deck", "--to", tmp_path / "d.svg")
    assert code == 2 and ".pptx, .tex or .pdf" in err
    code, _, err = run(capsys, "export", DIGITS, "--deck", "--overlays",
                       "--to", tmp_path / "d.pptx")
    assert code == 2 and "--overlays is for a Beamer deck" in err
    code, _, err = run(capsys, "export", DIGITS, "--steps", "1-2", "--to", tmp_path / "g.png")
    assert code == 2 and "--steps does not apply" in err


@needs_beamer
def test_an_adam_update_deck_compiles_with_its_symbols_as_math(qapp, capsys, tmp_path):
    tex = tmp_path / "adam.tex"
    assert run(capsys, "export", DIGITS, "--deck", "--phase", "update", "--update", "adam",
               "--to", tex)[0] == 0
    source = tex.read_text()
    assert r"\leftarrow" in source and r"\|" in source and "^{t}" in source
    assert r"\text{?}" not in source  # every symbol of the rules has its LaTeX
    trainable = [n for n in load_graph(DIGITS).nodes.values() if n.op in
                 ("conv2d", "batchnorm", "dense")]
    assert page_count(compile_tex(tex)) == 1 + len(trainable)
