"""Tensors of a pass to .npz and CSV, checked against an independent Executor run."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine.executor import Executor
from bpviz.export.base import ExportCancelled, ExportError
from bpviz.export.tensors import (
    BmatrixExporter,
    CsvExporter,
    NpzExporter,
    bmatrix,
    collect_tensors,
    read_long_csv,
    split_key,
)
from bpviz.graph import build_network
from tests.export.helpers import (
    RESIDUAL,
    TINY,
    compile_tex,
    needs_pdflatex,
    pdf_page_pixels,
    session_for,
)


def independent_run(document, feeds, targets, seed=0):
    """A fresh network and Executor: nothing shared with the exported session."""
    network = build_network(document, seed=seed, dtype=np.float64)
    executor = Executor(network)
    executor.run({k: v.copy() for k, v in feeds.items()},
                 {k: v.copy() for k, v in targets.items()})
    return network, executor


@pytest.mark.parametrize("path", [TINY, RESIDUAL])
def test_npz_holds_every_node_and_equals_the_engine(tmp_path, path):
    document, network, feeds, targets, session = session_for(path)
    out = NpzExporter(session).export(tmp_path / "pass.npz")
    with np.load(out, allow_pickle=False) as data:
        saved = {key: data[key] for key in data.files}
    net, executor = independent_run(document, feeds, targets)
    for node in net.order:
        assert np.array_equal(saved[f"{node.id}/out"], executor.values[node.id])
        assert np.array_equal(saved[f"{node.id}/grad_out"], executor.grads[node.id])
        for name, value in node.op.params.items():
            assert np.array_equal(saved[f"{node.id}/param/{name}"], value)
            assert np.array_equal(saved[f"{node.id}/grad/{name}"], node.op.grads[name])
    assert {split_key(key)[0] for key in saved} == set(document.nodes)


def test_grad_in_sums_to_the_sources_gradient(tmp_path):
    document, network, feeds, targets, session = session_for(RESIDUAL)
    saved = NpzExporter(session).export()
    for node in network.order:
        total = sum(saved[f"{consumer}/grad_in/{port}"]
                    for consumer, port in network.consumers[node.id])
        if network.consumers[node.id]:
            assert np.allclose(total, saved[f"{node.id}/grad_out"])


def test_an_executor_gives_everything_but_grad_in():
    document, network, feeds, targets, _ = session_for(TINY)
    _, executor = independent_run(document, feeds, targets)
    keys = set(collect_tensors(executor))
    assert "c1/out" in keys and "c1/grad/weight" in keys and "fc/param/bias" in keys
    assert not any("/grad_in/" in key for key in keys)


def test_csv_long_format_reads_back_exactly(tmp_path):
    *_, session = session_for(TINY, batch=1)
    out = CsvExporter(session).export(tmp_path / "pass.csv")
    header = out.read_text().splitlines()[0]
    assert header == "key,index,value"
    back = read_long_csv(out)
    tensors = collect_tensors(session)
    assert set(back) == set(tensors)
    for key, value in tensors.items():
        assert np.array_equal(back[key].reshape(np.shape(value)), value), key


def test_bmatrix():
    text = bmatrix(np.array([[1.0, -0.5], [2.5e-5, 3.0]]))
    assert text.startswith("\\begin{bmatrix}") and text.rstrip().endswith("\\end{bmatrix}")
    assert "1 & -0.5" in text and "2.5 \\cdot 10^{-5} & 3" in text
    assert bmatrix(np.arange(3.0)).count("\\\\") == 2  # a vector is a column
    with pytest.raises(ExportError, match="8×8"):
        bmatrix(np.zeros((9, 2)))
    with pytest.raises(ExportError, match="at most 2 axes"):
        bmatrix(np.zeros((2, 2, 2)))


def test_bmatrix_of_a_kernel(tmp_path):
    *_, session = session_for(TINY)
    out = BmatrixExporter(session, "c1/grad/weight[0, 0]").export(tmp_path / "k.tex")
    rows = out.read_text().split("\\\\")
    assert len(rows) == 3
    with pytest.raises(ExportError, match="no tensor"):
        BmatrixExporter(session, "c9/out").export()


def test_npz_holds_each_loss_targets(tmp_path):
    document, network, feeds, targets, session = session_for(RESIDUAL)
    saved = NpzExporter(session).export()
    losses = [node.id for node in network.order if node.op.is_loss]
    assert losses and {key for key in saved if key.endswith("/target")} == {
        f"{loss}/target" for loss in losses}
    for loss in losses:
        assert np.array_equal(saved[f"{loss}/target"], targets[loss])
    assert split_key(f"{losses[0]}/target") == (losses[0], "target", None)


@needs_pdflatex
def test_bmatrix_compiles_in_an_amsmath_display(tmp_path):
    *_, session = session_for(TINY)
    kernel = BmatrixExporter(session, "c1/grad/weight[0, 0]").export()
    special = bmatrix(np.array([[2.5e-5, -np.inf], [np.nan, 3.0]]))
    tex = tmp_path / "matrices.tex"
    tex.write_text("\\documentclass{article}\n\\usepackage{amsmath}\n\\pagestyle{empty}\n"
                   "\\begin{document}\n\\[\n" + kernel + special + "\\]\n\\end{document}\n")
    pixels = pdf_page_pixels(compile_tex(tex), dpi=150)
    assert (pixels < 128).any(axis=2).sum() > 500  # the ink of two matrices on a white page


def test_a_cancelled_npz_leaves_no_file(tmp_path):
    *_, session = session_for(RESIDUAL)
    exporter = NpzExporter(session, progress=lambda done, total: done == 2 and exporter.cancel())
    with pytest.raises(ExportCancelled):
        exporter.export(tmp_path / "pass.npz")
    assert list(tmp_path.iterdir()) == []
