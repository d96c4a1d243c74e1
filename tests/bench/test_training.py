"""The training benchmark runs (its figures are printed, never asserted: no timed tests)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.bench.training import main  # noqa: E402


def test_the_quick_benchmark_prints_its_figures(qapp, capsys):
    assert main(["--quick"]) == 0
    out = capsys.readouterr().out
    print(out)
    assert "graph: moons_mlp, dataset moons, 3 epochs" in out
    assert "longest UI-thread stall:" in out and "panel updates:" in out
    assert "result: trained 3 epochs (15 iterations)" in out
