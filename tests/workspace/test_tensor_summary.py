"""Big tensors are summarised with NumPy's own answers and drawn as block means, small."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine.executor import Network
from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphDocument, NodeData, build_network
from bpviz.graph.batch import random_batch
from bpviz.workspace import tensor_summary
from bpviz.workspace.tensor_summary import BIG, Summaries, reduce_map, summarise


def test_a_big_map_is_drawn_as_block_means_of_at_most_n_pixels():
    values = np.random.default_rng(0).standard_normal((224, 224))
    picture, block = reduce_map(values, 80, 80)
    assert block == (3, 3) and picture.shape == (75, 75)  # 224 = 74 · 3 + 2
    assert picture[0, 0] == pytest.approx(values[:3, :3].mean())
    assert picture[10, 20] == pytest.approx(values[30:33, 60:63].mean())
    assert picture[-1, -1] == pytest.approx(values[222:, 222:].mean())  # the uneven edge


def test_a_map_that_fits_is_drawn_as_it_is():
    values = np.arange(12.0).reshape(3, 4)
    picture, block = reduce_map(values, 80, 80)
    assert block == (1, 1) and picture is values


def test_a_long_thin_matrix_is_reduced_along_each_axis_on_its_own():
    values = np.random.default_rng(1).standard_normal((40, 5000)).astype(np.float32)
    picture, block = reduce_map(values, 256, 256)
    assert block == (1, 20) and picture.shape == (40, 250)
    assert picture[7, 3] == pytest.approx(values[7, 60:80].mean(dtype=np.float64))


@pytest.mark.parametrize("diverging", [True, False])
def test_a_summary_agrees_with_numpy_over_several_chunks(diverging):
    rng = np.random.default_rng(2)
    values = rng.standard_normal(2_500_000) * 3 + 0.5  # more than two chunks
    values[17] = np.nan
    finite = values[np.isfinite(values)]
    summary = summarise(values, diverging)
    top = np.abs(finite).max()
    expected = (-top, top) if diverging else (finite.min(), finite.max())
    assert summary.levels == pytest.approx(expected)
    assert (summary.minimum, summary.maximum) == (finite.min(), finite.max())
    assert summary.norm == pytest.approx(np.linalg.norm(finite), rel=1e-12)
    counts, edges = np.histogram(finite, bins=len(summary.counts), range=summary.levels)
    assert np.array_equal(summary.counts, counts) and np.allclose(summary.edges, edges)
    assert summary.size == finite.size


def big_dense_session() -> StepSession:
    doc = GraphDocument("big dense", [
        NodeData("x", "input", [], {"shape": [1200]}),
        NodeData("fc", "dense", ["x"], {"units": 1000}),
        NodeData("loss", "mse", ["fc"])])
    network: Network = build_network(doc, seed=0)
    feeds, targets = random_batch(network, 2, 0, np.float64)
    return StepSession(network, feeds, targets)


def test_the_big_tensors_of_a_pass_are_summarised_before_it_is_shown(monkeypatch):
    session = big_dense_session()
    summaries = Summaries()
    summaries.prepare(session)
    weight = session.network.nodes["fc"].op.params["weight"]
    gradient = session.steps[-2].grad_params["weight"]  # fc's backward step
    assert weight.size > BIG and gradient.size > BIG

    def no_pass(values, diverging):  # none is made again on the UI thread
        raise AssertionError(f"summarised {values.shape} again")

    monkeypatch.setattr(tensor_summary, "summarise", no_pass)
    assert summaries.summary(weight, True).maximum == weight.max()
    assert summaries.summary(gradient, True).norm == pytest.approx(np.linalg.norm(gradient))
    picture, block = summaries.picture(weight)
    assert picture.shape[0] <= tensor_summary.PICTURE_SIDE >= picture.shape[1]
    assert block == (4, 5) and picture[1, 2] == pytest.approx(weight[4:8, 10:15].mean())


def test_a_matrix_larger_than_a_chunk_is_reduced_a_few_block_rows_at_a_time():
    values = np.random.default_rng(3).standard_normal((3001, 1000))  # 3 groups of rows
    picture, block = reduce_map(values, 256, 256)
    assert block == (12, 4) and picture.shape == (251, 250)
    expected = values[:3000].reshape(250, 12, 250, 4).mean(axis=(1, 3))
    assert np.allclose(picture[:250], expected)
    assert np.allclose(picture[250], values[3000].reshape(250, 4).mean(axis=1))
