"""A loss step's formula follows its reduction, and the number it shows is that formula."""

from __future__ import annotations

import re

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.formulas import describe_step
from bpviz.engine.stepping import StepSession

LOSSES = ("mse", "bce", "bce_with_logits", "softmax_cross_entropy")
MEAN_FACTOR = re.compile(r"1/\(?N")  # 1/N, or 1/(N·F) for one term per number
BATCH = 5


def loss_session(loss: str, reduction: str, per_sample: int, seed: int = 4) -> StepSession:
    """x → dense → (a sigmoid for bce) → the loss, with random inputs and targets."""
    rng = np.random.default_rng(seed)
    nodes = [NodeSpec("x", OPS["input"](shape=[3])),
             NodeSpec("d", OPS["dense"](units=per_sample), ["x"])]
    nodes[1].op.init_params([(3,)], rng, np.float64, "glorot")
    last = "d"
    if loss == "bce":
        nodes.append(NodeSpec("p", OPS["sigmoid"](), ["d"]))
        last = "p"
    nodes.append(NodeSpec("loss", OPS[loss](reduction=reduction), [last]))
    if loss == "softmax_cross_entropy":
        target = rng.integers(0, per_sample, BATCH)
    else:
        target = rng.random((BATCH, per_sample))
    feeds = {"x": rng.standard_normal((BATCH, 3))}
    return StepSession(Network(nodes), feeds, {"loss": target})


def numpy_loss(loss: str, reduction: str, pred: np.ndarray, target: np.ndarray) -> float:
    """The lecture's sum over samples (and numbers), or its mean, written out anew."""
    if loss == "mse":
        terms = (pred - target) ** 2
    elif loss in ("bce", "bce_with_logits"):
        p = pred if loss == "bce" else 1 / (1 + np.exp(-pred))
        terms = -(target * np.log(p) + (1 - target) * np.log(1 - p))
    else:
        shifted = pred - pred.max(axis=1, keepdims=True)
        y_hat = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        one_hot = np.eye(pred.shape[1])[target]
        terms = -(one_hot * np.log(y_hat)).sum(axis=1)  # one term per sample
    return float(terms.mean() if reduction == "mean" else terms.sum())


def loss_steps(session: StepSession):
    return [s for s in session.steps if s.node == "loss"]


@pytest.mark.parametrize("per_sample", [1, 3])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", LOSSES)
def test_the_formula_has_1_over_n_exactly_for_a_mean(loss, reduction, per_sample):
    if loss == "softmax_cross_entropy" and per_sample == 1:
        per_sample = 4  # classes
    session = loss_session(loss, reduction, per_sample)
    forward, backward = loss_steps(session)
    for step in (forward, backward):
        text = describe_step(step, session.network)
        formula = text.caption[0]
        assert bool(MEAN_FACTOR.search(formula)) == (reduction == "mean"), formula
        assert bool(MEAN_FACTOR.search(text.caption[1])) == (reduction == "mean")
    forward_line = describe_step(forward, session.network).caption[0]
    if reduction == "mean":
        one_term_per_sample = per_sample == 1 or loss == "softmax_cross_entropy"
        assert ("1/N · " if one_term_per_sample else "1/(N·F) · ") in forward_line
    assert "Σ_i" in forward_line  # the lecture's sum over the samples i


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("loss", LOSSES)
def test_the_value_shown_is_the_formula_computed_with_numpy(loss, reduction):
    per_sample = 4 if loss == "softmax_cross_entropy" else 3
    session = loss_session(loss, reduction, per_sample)
    forward, _ = loss_steps(session)
    line = describe_step(forward, session.network).caption[0]
    shown = float(line.rsplit(" = ", 1)[1])
    expected = numpy_loss(loss, reduction, forward.inputs[0], forward.target)
    assert shown == pytest.approx(expected, rel=1e-5)
    assert float(forward.output) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_the_backward_formula_is_the_gradient_computed_with_numpy(reduction):
    session = loss_session("softmax_cross_entropy", reduction, 4)
    forward, backward = loss_steps(session)
    z, labels = forward.inputs[0], forward.target
    y_hat = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    scale = 1 / len(z) if reduction == "mean" else 1.0  # the 1/N the text shows, or none
    expected = scale * (y_hat - np.eye(4)[labels])
    np.testing.assert_allclose(backward.grad_inputs[0], expected, rtol=1e-12)
