"""The rounding a parameter gradient carries is allowed for, measured in the other precision.

A batchnorm over data far from zero (mean 1000, spread 1) computes x − μ with
cancellation: in float32 x̂ carries errors of about ε · 1000, in the engine
and in torch alike, and so does ∂L/∂γ = Σ ∂L/∂y · x̂. The bound on the
rounding of the sum alone (ε · Σ |t|) is hundreds of times too small for it;
torch's gradient made again in float64 measures it.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bpviz.oracle import compare_network
from tests.oracle.test_compare import assert_ok, build

FAR = [("x", "input", {"shape": [4]}, []),
       ("n", "batchnorm", {}, ["x"]),
       ("d", "dense", {"units": 3}, ["n"]),
       ("t", "tanh", {}, ["d"])]


def far_from_zero(seed: int = 0, dtype=np.float32):
    network = build(FAR, seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 10)
    return network, {"x": (1000 + rng.standard_normal((8, 4))).astype(dtype)}


def test_float32_rounding_is_far_above_epsilon_here_for_torch_too():
    # The premise, from torch alone: its float32 ∂L/∂γ against its float64 one.
    network, feeds = far_from_zero()
    op = network.nodes["n"].op
    found = {}
    for kind in (torch.float32, torch.float64):
        x = torch.tensor(feeds["x"], dtype=kind)
        gamma = torch.tensor(op.params["weight"], dtype=kind, requires_grad=True)
        beta = torch.tensor(op.params["bias"], dtype=kind)
        y = torch.nn.functional.batch_norm(x, None, None, gamma, beta, training=True)
        dense = network.nodes["d"].op.params
        out = torch.tanh(y @ torch.tensor(dense["weight"], dtype=kind).T
                         + torch.tensor(dense["bias"], dtype=kind)).sum()
        (found[kind],) = torch.autograd.grad(out, [gamma])
    largest = float(found[torch.float64].abs().max())
    difference = float((found[torch.float32].double() - found[torch.float64]).abs().max())
    assert difference > 100 * np.finfo(np.float32).eps * largest


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batchnorm_over_data_far_from_zero_agrees_in_float32(seed):
    network, feeds = far_from_zero(seed)
    assert_ok(compare_network(network, feeds, None))


def test_a_wrong_gamma_gradient_is_still_caught_there(monkeypatch):
    network, feeds = far_from_zero()
    op = network.nodes["n"].op
    original = op.backward

    def backward(gy):
        result = original(gy)
        op.grads["weight"] = op.grads["weight"] * 1.01
        return result

    monkeypatch.setattr(op, "backward", backward)
    result = compare_network(network, feeds, None)
    assert result.node("n").failures == ["param weight"]


def test_the_same_network_near_zero_still_catches_a_thousandth(monkeypatch):
    network, feeds = far_from_zero()
    feeds["x"] -= 1000
    op = network.nodes["n"].op
    original = op.backward

    def backward(gy):
        result = original(gy)
        op.grads["weight"] = op.grads["weight"] * 1.001
        return result

    monkeypatch.setattr(op, "backward", backward)
    result = compare_network(network, feeds, None)
    assert result.node("n").failures == ["param weight"]
