"""TikZ figures compile with pdflatex, with one node per layer and skip wires drawn as such."""

from __future__ import annotations

import re

import pytest

from bpviz.export.figure import step_state
from bpviz.export.tikz import TikzExporter, tex_text
from bpviz.graph import GraphDocument, NodeData, load_graph
from tests.export.helpers import (
    EXAMPLES,
    RESIDUAL,
    TINY,
    compile_tex,
    needs_pdflatex,
    non_blank,
    pdf_page_pixels,
    pdf_text,
    session_for,
)


@needs_pdflatex
@pytest.mark.parametrize("path", [TINY, RESIDUAL, EXAMPLES / "resnet_blocks.json",
                                  EXAMPLES / "vgg16.json"])
def test_tikz_compiles_to_a_non_blank_page(tmp_path, path):
    tex = TikzExporter(load_graph(path)).export(tmp_path / "figure.tex")
    pdf = compile_tex(tex)
    assert non_blank(pdf_page_pixels(pdf))


@needs_pdflatex
def test_awkward_names_compile(tmp_path):
    doc = GraphDocument("100% of #1 & _ {weird} ~ names ^ ×", [
        NodeData("x_in #1 & 50%", "input", params={"shape": [3]}),
        NodeData("h{1}\\ ~ε", "dense", ["x_in #1 & 50%"], params={"units": 2}),
        NodeData("ŷ <out> $", "sigmoid", ["h{1}\\ ~ε"]),
    ])
    tex = TikzExporter(doc).export(tmp_path / "weird.tex")
    compile_tex(tex)


def test_one_node_per_layer_with_op_shape_and_parameters():
    document = load_graph(TINY)
    text = TikzExporter(document).export()
    nodes = re.findall(r"\\node\[layer[^\]]*\] \((n\d+)\) at \(([-\d.]+), ([-\d.]+)\) \{(.*)\};",
                       text)
    assert len(nodes) == len(document.nodes)
    labels = {label for *_, label in nodes}
    assert any(r"\textbf{conv2d 8 3$\times$3 p1}" in label and r"$8\times8\times8$" in label
               and "80 params" in label for label in labels)
    assert text.count(r"\draw[wire") == sum(len(n.inputs) for n in document.nodes.values())


def test_skip_and_concat_wires_are_drawn_as_such():
    document = load_graph(RESIDUAL)
    text = TikzExporter(document).export()
    skips = [line for line in text.splitlines() if line.lstrip().startswith(r"\draw[skip")]
    # r1 → skip (the residual), x → cat and r1 → cat skip columns
    assert len(skips) == 3
    assert all("|-" in line for line in skips)  # routed on a lane, not straight through
    concat_wires = [line for line in text.splitlines() if "concat]" in line]
    assert len(concat_wires) == len(document.nodes["cat"].inputs)


def test_positions_come_from_the_document_when_it_has_them():
    doc = GraphDocument("placed", [NodeData("a", "input", params={"shape": [2]}, pos=(10, 20)),
                                   NodeData("b", "relu", ["a"], pos=(300, -40))])
    text = TikzExporter(doc).export()
    assert "(n0) at (10.0, 20.0)" in text and "(n1) at (300.0, -40.0)" in text


def test_tex_text_escapes_specials():
    assert tex_text("a_b%c&d#e$f{g}") == r"a\_b\%c\&d\#e\$f\{g\}"
    assert tex_text("3×3") == r"3$\times$3"
    assert tex_text("é") == "e" and tex_text("中") == "?"


def drawn_nodes(text: str) -> list[str]:
    """The label of every TikZ node of the picture."""
    return re.findall(r"\\node\[(?:layer|group)[^\]]*\] \(n\d+\) at \([-\d.]+, [-\d.]+\) "
                      r"\{(.*)\};", text)


def test_a_folded_group_is_one_box_with_its_figures():
    """ResNet-50 opens folded into its stages: TikZ draws the stem, layer1 … layer4 and
    the head as one box each, as the canvas does."""
    document = load_graph(EXAMPLES / "resnet50.json")
    text = TikzExporter(document, layout="canvas").export()
    labels = drawn_nodes(text)
    assert len(labels) == 1 + len(document.groups) + 1  # the input, the boxes, the loss
    assert not any("layer1.0.conv1" in label for label in labels)
    layer4 = next(label for label in labels if label.startswith(r"\textbf{layer4}"))
    # torchvision's layer4 reads 1024 channels at 14×14 and gives 2048 at 7×7; the
    # receptive field at its end is 427 pixels (Araujo et al., Distill 2019).
    assert r"in 1024$\times$14$\times$14" in layer4 and r"out 2048$\times$7$\times$7" in layer4
    assert r"field 427$\times$427" in layer4
    # Every parameter is in exactly one drawn item: torchvision's 25,557,032.
    counts = [int(count.replace(",", "")) for label in labels
              for count in re.findall(r"([\d,]+) params", label)]
    assert sum(counts) == 25_557_032
    # One wire per pair of drawn items: a block's shortcut shares the box's input.
    assert text.count(r"\draw[") == len(labels) - 1


def test_wires_into_a_box_enter_it_once_per_source():
    document = load_graph(RESIDUAL)
    document.make_group("block", ["c2", "bn", "skip"], folded=True)  # the residual block
    text = TikzExporter(document).export()
    labels = drawn_nodes(text)
    assert len(labels) == 15 - 3 + 1
    block = next(label for label in labels if label.startswith(r"\textbf{block}"))
    # c2 is 4 filters of 4·3·3 and 4 biases (148), bn a scale and a shift per channel
    # (8); c1's 3×3 then c2's 3×3 at dilation 2 (5 wide) see 3 + 4 = 7 pixels.
    assert block == (r"\textbf{block} \\ in 4$\times$9$\times$9 \\ out 4$\times$9$\times$9"
                     r" \\ 156 params $\cdot$ 3 nodes \\ field 7$\times$7")
    # x→c1, c1→r1, r1→block (r1 feeds c2 and the add: one wire), block→r2, r2→cat,
    # x→cat, r1→cat, cat→c3, c3→mp, mp→ap, ap→t, t→gap, gap→fc, fc→loss.
    assert text.count(r"\draw[") == 14


@needs_pdflatex
def test_folded_resnet50_compiles_with_its_stages_as_boxes(tmp_path):
    tex = TikzExporter(load_graph(EXAMPLES / "resnet50.json")).export(tmp_path / "r50.tex")
    pdf = compile_tex(tex)
    assert non_blank(pdf_page_pixels(pdf))
    text = pdf_text(pdf)
    assert "layer4" in text and "427" in text and "25,557,032" not in text
    assert "layer1.0.conv1" not in text


def test_a_step_inside_a_folded_group_outlines_its_box_and_names_the_node():
    """The Beamer deck's pictures: the pass at r1, inside the folded stage1."""
    document, *_, session = session_for(TINY)
    document.make_group("stage1", ["c1", "r1", "p1"], folded=True)
    position = next(index for index, step in enumerate(session.steps) if step.node == "r1")
    picture = TikzExporter(document).picture(step_state(session, position))
    boxes = [line for line in picture.splitlines() if r"\node[group" in line]
    assert len(boxes) == 1 and r"\node[group, active]" in boxes[0]
    assert r"\textbf{stage1 $\cdot$ r1}" in boxes[0]
    assert not any(r"\texttt{c1}" in line for line in picture.splitlines())


def test_unfolded_groups_are_framed_and_named_once():
    """VGG16's five blocks, unfolded: each framed (once per band the layout wraps
    it into) around its own nodes, its name over the first frame."""
    document = load_graph(EXAMPLES / "vgg16.json")
    text = TikzExporter(document, layout="canvas").export()
    names = re.findall(r"\\node\[framename\] at \((n\d+)frame0\.north west\) \{(.*)\};", text)
    assert sorted(name for _, name in names) == sorted(document.groups)
    tikz_id = {f"n{index}": node_id for index, node_id in enumerate(document.nodes)}
    for fitted in re.findall(r"\\node\[frame, fit=([^\]]*)\]", text):
        members = {tikz_id[n] for n in re.findall(r"\((n\d+)\)", fitted)}
        assert len({document.nodes[m].group for m in members}) == 1
