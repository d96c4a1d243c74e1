"""The stepping benchmark runs (its figures are printed, never asserted: no timed tests)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.bench.stepping import main, residual_maps  # noqa: E402
from bpviz.graph import validate  # noqa: E402


@pytest.mark.parametrize("n_nodes", [10, 30, 41])
def test_the_benchmark_graph_has_the_asked_size_and_is_sound(n_nodes):
    doc = residual_maps(n_nodes, size=8)
    assert len(doc.nodes) == n_nodes
    assert validate(doc).shapes["x"] == (8, 8, 8)


def test_the_benchmark_prints_its_figures(qapp, capsys):
    assert main(["--nodes", "12", "--size", "8", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "graph: 12 nodes, 8×8 feature maps" in out
    assert "one backward step with the repaint:" in out


def test_the_benchmark_steps_through_a_bundled_example(qapp, capsys):
    assert main(["--graph", "tiny_cnn.json", "--batch", "2", "--cancel-after", "0.001"]) == 0
    out = capsys.readouterr().out
    assert "graph: tiny_cnn.json, 7 nodes, batch 2," in out
    assert "build the pass on the worker:" in out and "longest UI block" in out
    assert "one step with the repaint:" in out and "peak resident memory" in out
