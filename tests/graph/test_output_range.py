"""Ops declare the range of their output, so bce after a non-probability is a
problem of the graph while editing (shape inference), not only at the pass."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from bpviz.engine import OPS, Executor
from bpviz.engine.op import SAME_AS_INPUT
from bpviz.graph import GraphError, build_network, infer_shapes, loads_graph, validate


def chain(*ops: tuple[str, dict]) -> str:
    """input [2, 4, 4] → each (op, params) in turn → bce."""
    nodes = [{"id": "x", "op": "input", "params": {"shape": [2, 4, 4]}}]
    for index, (op, params) in enumerate(ops):
        nodes.append({"id": f"n{index}", "op": op, "params": params,
                      "inputs": [nodes[-1]["id"]]})
    nodes.append({"id": "loss", "op": "bce", "inputs": [nodes[-1]["id"]]})
    return json.dumps({"format": "bpviz-graph", "version": 1, "name": "t", "nodes": nodes})


DENSE = ("dense", {"units": 3})
FLAT = ("flatten", {})


@pytest.mark.parametrize("ops, culprit", [
    ((FLAT, DENSE), "dense 'n1'"),
    ((FLAT, DENSE, ("relu", {})), "relu 'n2'"),
    ((FLAT, DENSE, ("tanh", {})), "tanh 'n2'"),
    ((("sigmoid", {}), ("conv2d", {"out_channels": 2, "kernel": 3})), "conv2d 'n1'"),
])
def test_bce_after_a_non_probability_is_flagged_while_editing(ops, culprit):
    doc = loads_graph(chain(*ops), strict=False)
    report = infer_shapes(doc)
    assert set(report.errors) == {"loss"}
    assert culprit in report.errors["loss"] and "[0, 1]" in report.errors["loss"]
    with pytest.raises(GraphError, match="bce 'loss' needs values in"):
        validate(doc)


@pytest.mark.parametrize("ops", [
    (FLAT, DENSE, ("sigmoid", {})),
    (FLAT, DENSE, ("softmax", {})),
    (("sigmoid", {}), ("maxpool2d", {"kernel": 2}), ("avgpool2d", {"kernel": 2}), FLAT),
    (("sigmoid", {}), ("global_avgpool", {})),
    (),  # the data itself: its range is unknown until the pass
])
def test_bce_after_probabilities_or_data_is_fine(ops):
    assert infer_shapes(loads_graph(chain(*ops), strict=False)).ok


def test_what_is_flagged_the_pass_refuses():
    """The engine's bce, fed dense's scores (the node before the sigmoid), refuses
    them: the graph flagged while editing is one that fails at F10."""
    network = build_network(loads_graph(chain(FLAT, DENSE, ("sigmoid", {}))), seed=1)
    rng = np.random.default_rng(0)
    executor = Executor(network)
    y = rng.integers(0, 2, size=(16, 3)).astype(float)
    executor.run({"x": rng.normal(size=(16, 2, 4, 4)) * 10}, {"loss": y}, backward=False)
    bce = OPS["bce"]()
    bce.forward(executor.values["n2"], y)  # probabilities: fine
    with pytest.raises(ValueError, match="probabilities"):
        bce.forward(executor.values["n1"], y)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_declared_range_holds_on_random_inputs(name):
    """Each op's output lies in its declared interval (or its input's) on wide inputs."""
    cls = OPS[name]
    if cls.is_loss or cls.output_range is None or cls.min_inputs == 0:
        return
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 2, 6, 6)) * 20 if cls.family in ("pooling", "layer") else (
        rng.normal(size=(4, 5)) * 20)
    if cls.output_range == (-math.inf, math.inf):
        return  # every real number: nothing to check
    if name == "concat":
        xs = (x, rng.uniform(-3, 7, size=x.shape))
        low, high = min(xs[0].min(), -3), max(xs[0].max(), 7)
    else:
        xs = (x,)
        low, high = x.min(), x.max()
    op = cls(**({"kernel": 2} if "kernel" in {h.name for h in cls.hypers if h.required}
                else {}))
    out = op.forward(*xs)
    declared = cls.output_range
    if declared == SAME_AS_INPUT:
        declared = (low, high)
    assert declared[0] - 1e-12 <= out.min() and out.max() <= declared[1] + 1e-12, name
