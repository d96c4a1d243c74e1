"""TikZ figures compile with pdflatex, with one node per layer and skip wires drawn as such."""

from __future__ import annotations

import re

import pytest

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
