"""Kinks compared on the engine's side: an input within rounding of a ReLU's 0 or
of a max-pool tie, rounded to opposite sides by the engine and torch, is aligned
and counted; farther away, the engine's choice is checked as any other number."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.cli.check import format_table
from bpviz.engine.op import OPS
from bpviz.oracle import compare_network
from tests.oracle.test_compare import _scaled, build

DENSE_KINK = [("x", "input", {"shape": [3]}, []),
              ("d", "dense", {"units": 2}, ["x"]),
              ("r", "relu", {}, ["d"]),
              ("o", "dense", {"units": 1}, ["r"])]


def kinked(monkeypatch, activation: str = "relu", entry: int = 0):
    """d's first output is 0 up to rounding (its bias cancels x·w), its second
    clearly not; the engine negates d's output `entry`: within rounding of 0
    for entry 0, a wrong number for entry 1."""
    layers = [*DENSE_KINK[:2], ("r", activation, {}, ["d"]), DENSE_KINK[3]]
    network = build(layers)
    x = np.array([[0.7, -1.3, 0.4]])
    dense = network.nodes["d"].op
    dense.params["bias"][0] = -float(x[0] @ dense.params["weight"][0])
    dense.params["bias"][1] = 0.5 - float(x[0] @ dense.params["weight"][1])
    original = dense.forward

    def forward(z):
        out = original(z)
        out[0, entry] = -out[0, entry] if out[0, entry] != 0 else 1e-18
        return out

    monkeypatch.setattr(dense, "forward", forward)
    return network, {"x": x}


def test_without_a_flip_nothing_is_aligned():
    network = build(DENSE_KINK)
    feeds = {"x": np.random.default_rng(3).standard_normal((8, 3))}
    result = compare_network(network, feeds, None)
    assert result.ok and result.aligned == {}


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_a_relu_input_rounded_to_the_other_side_of_zero_is_aligned(monkeypatch, activation):
    network, feeds = kinked(monkeypatch, activation)
    result = compare_network(network, feeds, None)
    assert result.aligned == {"r": 1}
    assert result.ok, [(n.id, n.failures) for n in result.failed]
    assert "aligned 1 entry at a kink, compared on the engine's side: r (1)" in \
        format_table(result)


def test_a_wrong_gradient_is_still_caught_beside_an_aligned_kink(monkeypatch):
    network, feeds = kinked(monkeypatch)
    op = network.nodes["o"].op
    monkeypatch.setattr(op, "backward", _scaled(op.backward, 1.001))
    result = compare_network(network, feeds, None)
    assert result.aligned == {"r": 1} and not result.ok
    assert "grad" in result.node("r").failures


def test_an_input_far_from_zero_on_the_wrong_side_is_caught(monkeypatch):
    # The engine's d output is −0.5 where torch's is 0.5: no rounding puts it there.
    network, feeds = kinked(monkeypatch, entry=1)
    result = compare_network(network, feeds, None)
    assert result.aligned == {} and not result.ok
    assert "forward" in result.node("d").failures


def test_a_wrong_relu_mask_away_from_the_kink_is_caught(monkeypatch):
    network = build(DENSE_KINK)
    relu = network.nodes["r"].op
    original = relu.forward

    def forward(z):
        u = original(z)
        u[z > 0.1] = 0.0  # switched off although clearly active
        return u

    monkeypatch.setattr(relu, "forward", forward)
    feeds = {"x": np.random.default_rng(3).standard_normal((8, 3))}
    result = compare_network(network, feeds, None)
    assert result.aligned == {} and not result.ok
    assert "forward" in result.node("r").failures


POOL = [("x", "input", {"shape": [1, 2, 2]}, []),
        ("mp", "maxpool2d", {"kernel": 2}, ["x"]),
        ("f", "flatten", {}, ["mp"]),
        ("o", "dense", {"units": 1}, ["f"])]


@pytest.mark.parametrize("gap, aligned", [(2.0 ** -52, True), (0.5, False)])
def test_a_max_pool_near_tie_is_aligned_and_a_wrong_winner_caught(monkeypatch, gap, aligned):
    network = build(POOL)
    pool = network.nodes["mp"].op
    original = pool.forward

    def forward(x):  # the engine says the first pixel won, though the last is larger
        original(x)  # sets _winner
        pool._winner[...] = 0
        return np.ascontiguousarray(x[:, :, :1, :1])

    monkeypatch.setattr(pool, "forward", forward)
    feeds = {"x": np.array([[[[1.0, 0.0], [0.0, 1.0 + gap]]]])}
    result = compare_network(network, feeds, None)
    if aligned:
        assert result.aligned == {"mp": 1}
        assert result.ok, [(n.id, n.failures) for n in result.failed]
    else:
        assert result.aligned == {} and not result.ok
        assert "grad" in result.node("x").failures


@pytest.mark.parametrize("op_name", ["relu", "leaky_relu"])
def test_the_kink_side_is_read_from_the_last_forward_and_gone_after_release(op_name):
    op = OPS[op_name]()
    z = np.array([[-1.0, 0.0, 2.0, -0.0, 1e-300]])
    assert op.kink_side is None
    op.forward(z)
    np.testing.assert_array_equal(op.kink_side, [[False, False, True, False, True]])
    op.release()
    assert op.kink_side is None


def test_the_max_pool_winner_is_read_only_and_gone_after_release():
    network = build(POOL)
    pool = network.nodes["mp"].op
    assert pool.winner is None
    pool.forward(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]))
    assert pool.winner.tolist() == [[[[1]]]]  # the first 3 in row-major order
    with pytest.raises(ValueError):
        pool.winner[...] = 0
    pool.release()
    assert pool.winner is None
