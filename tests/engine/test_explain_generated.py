"""The layer ops' explanations on generated graphs: random kernels, strides, padding,
dilation and pooling windows, batch > 1, a residual add, a channel concat and a flat
concat, a frozen conv sometimes and inputs with ties sometimes. For random entries of
every tensor, the terms add up to the entry (float64), every factor is the pass's
entry and the entry is torch's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bpviz.engine import HyperError, ShapeError
from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphError, build_network
from bpviz.graph.fileformat import document_from_json
from tests.engine.explain_checks import (
    check_entry,
    pass_tensors,
    random_entries,
    torch_reference,
)

pytest.importorskip("torch")

LAYER_OPS = {"dense", "conv2d", "flatten", "maxpool2d", "avgpool2d", "global_avgpool",
             "add", "concat"}


def pairs(low: int, high: int):
    value = st.integers(low, high)
    return st.one_of(value, st.lists(value, min_size=2, max_size=2))


@st.composite
def graphs(draw):
    """x → c1 and its twin c1b (same geometry) → add → concat with c1 → pool a → flatten;
    x → pool b → global average pool; both flat → concat → dense → mse."""
    channels, height, width = draw(st.integers(1, 3)), draw(st.integers(3, 9)), \
        draw(st.integers(3, 9))
    conv = {"out_channels": draw(st.integers(1, 3)), "kernel": draw(pairs(1, 4)),
            "stride": draw(pairs(1, 3)), "padding": draw(pairs(0, 2)),
            "dilation": draw(pairs(1, 3)), "bias": draw(st.booleans())}

    def pool():
        kernel = draw(pairs(1, 3))
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        # torch pads a pooling window by at most half its kernel
        hp = {"kernel": kernel, "padding": [draw(st.integers(0, kh // 2)),
                                            draw(st.integers(0, kw // 2))]}
        if draw(st.booleans()):
            hp["stride"] = draw(pairs(1, 2))
        return draw(st.sampled_from(["maxpool2d", "avgpool2d"])), hp

    (pool_a, hp_a), (pool_b, hp_b) = pool(), pool()
    c1 = {"id": "c1", "op": "conv2d", "inputs": ["x"], "params": conv}
    if draw(st.booleans()):
        c1["trainable"] = False
    nodes = [
        {"id": "x", "op": "input", "params": {"shape": [channels, height, width]}},
        c1,
        {"id": "c1b", "op": "conv2d", "inputs": ["x"], "params": conv},
        {"id": "sum", "op": "add", "inputs": ["c1", "c1b"]},
        {"id": "maps", "op": "concat", "inputs": ["sum", "c1"]},
        {"id": "pa", "op": pool_a, "inputs": ["maps"], "params": hp_a},
        {"id": "fa", "op": "flatten", "inputs": ["pa"]},
        {"id": "pb", "op": pool_b, "inputs": ["x"], "params": hp_b},
        {"id": "gb", "op": "global_avgpool", "inputs": ["pb"]},
        {"id": "flat", "op": "concat", "inputs": ["fa", "gb"]},
        {"id": "d", "op": "dense", "inputs": ["flat"],
         "params": {"units": draw(st.integers(1, 3)), "bias": draw(st.booleans())}},
        {"id": "loss", "op": "mse", "inputs": ["d"]},
    ]
    document = {"format": "bpviz-graph", "version": 1, "name": "generated", "nodes": nodes}
    return document, draw(st.integers(1, 3)), draw(st.booleans()), draw(st.integers(0, 2**16))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs())
def test_generated_graphs_explain_every_tensor_kind(case):
    document, batch, ties, seed = case
    try:
        network = build_network(document_from_json(document), seed=seed)
    except (GraphError, ShapeError, HyperError):
        assume(False)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *document["nodes"][0]["params"]["shape"]))
    if ties:  # few distinct values: max-pool windows with equal maxima
        x = np.round(x)
    units = network.nodes["d"].op.hp["units"]
    for node in network.order:  # random biases too, not zeros
        for name, value in node.op.params.items():
            node.op.params[name] = rng.standard_normal(value.shape)
    session = StepSession(network, {"x": x}, {"loss": rng.standard_normal((batch, units))})
    tensors, theirs = pass_tensors(session), torch_reference(session)
    kinds = set()
    for node, tensor, at in random_entries(session, rng, 2, LAYER_OPS):
        check_entry(session, tensors, theirs, node, tensor, at)
        kinds.add(tensor.split("/")[0])
    assert {"out", "grad_in", "grad"} <= kinds
