"""Sessions on the example graphs, shared by the stepping and formula tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.stepping import StepSession
from bpviz.graph import build_network, load_graph

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
DATA = Path(__file__).resolve().parents[1] / "data"


def example_json(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))


def example_network(name: str, seed: int = 0) -> Network:
    return build_network(load_graph(EXAMPLES / f"{name}.json"), seed=seed)


def example_session(name: str, batch: int = 4, seed: int = 0) -> StepSession:
    """A session on an example graph with random inputs and targets."""
    network = example_network(name, seed)
    rng = np.random.default_rng(seed)
    feeds = {i: rng.standard_normal((batch, *network.nodes[i].op.hp["shape"]))
             for i in network.inputs}
    targets = {}
    for loss in network.losses:
        if network.nodes[loss].op.op_name == "softmax_cross_entropy":
            targets[loss] = rng.integers(0, 10, batch)
        else:
            targets[loss] = rng.integers(0, 2, (batch, 1)).astype(np.float64)
    return StepSession(network, feeds, targets)


def residual_network(seed: int = 3) -> Network:
    """x → d1 → (relu r, and the skip) → add 'sum' → d2: d1 forks to r and sum."""
    rng = np.random.default_rng(seed)
    nodes = [NodeSpec("x", OPS["input"](shape=[4])),
             NodeSpec("d1", OPS["dense"](units=4), ["x"]),
             NodeSpec("r", OPS["relu"](), ["d1"]),
             NodeSpec("sum", OPS["add"](), ["r", "d1"]),
             NodeSpec("d2", OPS["dense"](units=2), ["sum"])]
    for node in nodes:
        if node.op.op_name == "dense":
            node.op.init_params([(4,)], rng, np.float64, "glorot")
    return Network(nodes)


def tiny_mixed_network(seed: int = 5) -> Network:
    """Every tensor ≤ 16 numbers: dense, relu, tanh, add, softmax and an MSE loss."""
    rng = np.random.default_rng(seed)
    nodes = [NodeSpec("x", OPS["input"](shape=[3])),
             NodeSpec("d", OPS["dense"](units=4), ["x"]),
             NodeSpec("r", OPS["relu"](), ["d"]),
             NodeSpec("t", OPS["tanh"](), ["d"]),
             NodeSpec("sum", OPS["add"](), ["r", "t"]),
             NodeSpec("p", OPS["softmax"](), ["sum"]),
             NodeSpec("loss", OPS["mse"](), ["p"])]
    nodes[1].op.init_params([(3,)], rng, np.float64, "glorot")
    return Network(nodes)


def every_loss_session() -> StepSession:
    """Dropout, batchnorm (in training: it couples the samples) and every loss."""
    network = build_network(load_graph(DATA / "every_loss.json"), seed=2)
    rng = np.random.default_rng(2)
    targets = {"mse": rng.random((4, 3)), "bce": rng.random((4, 2)),
               "bcel": rng.random((4, 2)), "sm_mse": rng.random((4, 4)),
               "ce": rng.integers(0, 4, 4)}
    return StepSession(network, {"x": rng.standard_normal((4, 6))}, targets)
