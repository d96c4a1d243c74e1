"""The editor benchmark runs (its figures are printed, never asserted: no timed tests)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.bench.editor import main, residual_chain  # noqa: E402
from bpviz.graph import validate  # noqa: E402


@pytest.mark.parametrize("n_nodes", [10, 57, 200])
def test_the_benchmark_graph_has_the_asked_size_and_is_sound(n_nodes):
    doc = residual_chain(n_nodes)
    assert len(doc.nodes) == n_nodes
    validate(doc)


def test_the_benchmark_prints_its_figures(qapp, capsys):
    assert main(["--nodes", "20", "--repeats", "2"]) == 0
    out = capsys.readouterr().out
    assert "graph: 20 nodes" in out and "parameter edit, re-infer and repaint" in out
