"""Large parameter gradients judged a block of rows at a time (torch_run.RowBlocks).

The split is made small here, so that a lesson-sized dense or conv layer goes
the way fc6 of VGG16 goes: its torch gradient comes in blocks of rows.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.oracle import compare as compare_module
from bpviz.oracle import compare_network, torch_run
from bpviz.oracle.compare import torch_pass
from tests.oracle.test_compare import DTYPES, assert_ok, build, feed

CONV = [("x", "input", {"shape": [2, 6, 6]}, []),
        ("c", "conv2d", {"out_channels": 5, "kernel": 3, "padding": 1}, ["x"]),
        ("r", "relu", {}, ["c"]),
        ("f", "flatten", {}, ["r"]),
        ("d", "dense", {"units": 7}, ["f"]),
        ("y", "dense", {"units": 2}, ["d"])]


@pytest.fixture
def small_split(monkeypatch):
    """Split every weight of more than 20 entries, in blocks of at most 40 entries."""
    monkeypatch.setattr(compare_module, "SPLIT_ABOVE", 20)
    monkeypatch.setattr(torch_run, "BLOCK_ENTRIES", 40)


def _blocks_of(network, feeds):
    """node/name → (torch's gradient put together from its blocks, the blocks' rows)."""
    theirs = torch_run.TorchPass(network, feeds, None, {i: {} for i in network.nodes},
                                 feeds["x"].dtype, split_above=20)
    found = {}

    def sink(node_id, name, grad):
        if isinstance(grad, torch_run.RowBlocks):
            parts = list(grad)
            found[f"{node_id}/{name}"] = (np.concatenate([block for _, block in parts]),
                                          [(rows.start, rows.stop) for rows, _ in parts])
    theirs.backward(sink)
    return found


@pytest.mark.parametrize("dtype", DTYPES)
def test_blocks_put_together_are_torchs_whole_gradient(small_split, dtype):
    network = build(CONV, dtype=dtype)
    feeds = feed(network, 3, dtype=dtype)
    whole = torch_pass(network, feeds, None)
    found = _blocks_of(network, feeds)
    assert sorted(found) == ["c/weight", "d/weight"]  # y's weight has 14 entries
    for key, (gradient, rows) in found.items():
        node, name = key.split("/")
        reference = whole[f"{node}/grad/{name}"]
        assert len(rows) > 1 and rows[0][0] == 0 and rows[-1][1] == len(reference)
        assert all(a[1] == b[0] for a, b in zip(rows, rows[1:]))  # every row once
        np.testing.assert_allclose(gradient, reference, rtol=1e-5 if dtype == np.float32
                                   else 1e-12, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_split_gradients_agree(small_split, dtype):
    network = build(CONV, dtype=dtype)
    result = compare_network(network, feed(network, 3, dtype=dtype), None)
    assert_ok(result)
    assert result.node("d").param_grad_err is not None


def _wrong_rows(network, node_id: str, rows: slice, shift: float, monkeypatch) -> None:
    """The engine's weight gradient off by `shift` times its largest entry in `rows`."""
    op = network.nodes[node_id].op
    original = op.backward

    def backward(gy):
        result = original(gy)
        weight = op.grads["weight"] = op.grads["weight"].copy()
        weight[rows] += shift * np.max(np.abs(weight))
        return result

    monkeypatch.setattr(op, "backward", backward)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("node_id", ["c", "d"])
def test_a_thousandth_off_in_the_last_block_is_caught(small_split, monkeypatch, dtype,
                                                      node_id):
    network = build(CONV, dtype=dtype)
    _wrong_rows(network, node_id, slice(-1, None), 1e-3, monkeypatch)
    result = compare_network(network, feed(network, 3, dtype=dtype), None)
    assert result.node(node_id).failures == ["param weight"]
    assert [n.id for n in result.failed] == [node_id]


def test_nan_in_a_split_gradient_never_agrees(small_split, monkeypatch):
    network = build(CONV)
    _wrong_rows(network, "d", slice(2, 3), np.nan, monkeypatch)
    result = compare_network(network, feed(network, 3), None)
    assert result.node("d").failures == ["param weight"]
    assert np.isnan(result.node("d").param_grad_err)
