"""From a document to a Network: initialisation, flags, refusal before allocation."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Executor, Network
from bpviz.engine.init import init_weight, node_rng
from bpviz.graph import GraphDocument, GraphError, NodeData, build_network, init_scheme, loads_graph
from tests.graph.test_fileformat import RESIDUAL, TINY_DENSE, needs


def test_build_a_small_mlp_and_run_it():
    doc = loads_graph(TINY_DENSE)
    network = build_network(doc, seed=3)
    assert isinstance(network, Network)
    assert [node.id for node in network.order] == ["x", "f", "h", "fc"]
    assert network.nodes["h"].op.params["weight"].shape == (5, 16)
    assert "bias" not in network.nodes["h"].op.params
    assert network.nodes["fc"].op.trainable is False
    assert network.nodes["h"].op.trainable is True
    loss = Executor(network).run({"x": np.ones((2, 1, 4, 4))})
    assert np.isfinite(loss)


def test_weights_depend_only_on_seed_and_node_id():
    doc = loads_graph(TINY_DENSE)
    first = build_network(doc, seed=1).parameters()
    again = build_network(doc, seed=1).parameters()
    other = build_network(doc, seed=2).parameters()
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert not np.array_equal(first["h/weight"], other["h/weight"])
    doc.add_node(NodeData("extra", "dense", ["h"], {"units": 7}))
    grown = build_network(doc, seed=1).parameters()
    assert np.array_equal(grown["h/weight"], first["h/weight"])


def test_glorot_weights_are_drawn_from_the_nodes_own_generator():
    network = build_network(loads_graph(TINY_DENSE), seed=5)
    expected = init_weight((5, 16), 16, 5, "glorot", node_rng(5, "h"), np.dtype(np.float64))
    assert np.array_equal(network.nodes["h"].op.params["weight"], expected)


def test_dtype_is_applied():
    network = build_network(loads_graph(TINY_DENSE), dtype=np.float32)
    assert network.nodes["fc"].op.params["weight"].dtype == np.float32


def chain(*ops: tuple[str, str, dict]) -> GraphDocument:
    """input x → dense d → the given (id, op, params) nodes, each reading the previous."""
    nodes = [NodeData("x", "input", [], {"shape": [4]}), NodeData("d", "dense", ["x"],
                                                                   {"units": 3})]
    for node_id, op, params in ops:
        nodes.append(NodeData(node_id, op, [nodes[-1].id], params))
    return GraphDocument("chain", nodes)


@needs("relu", "leaky_relu", "batchnorm", "sigmoid")
@pytest.mark.parametrize("doc_fn, scheme", [
    (lambda: chain(("r", "relu", {})), "he"),
    (lambda: chain(("r", "leaky_relu", {"slope": 0.1})), "he"),
    (lambda: chain(("b", "batchnorm", {}), ("r", "relu", {})), "he"),
    (lambda: chain(("s", "sigmoid", {})), "glorot"),
    (lambda: chain(), "glorot"),
    (lambda: chain(("b", "batchnorm", {}), ("s", "sigmoid", {})), "glorot"),
    (lambda: chain(("b", "batchnorm", {}), ("b2", "batchnorm", {}), ("r", "relu", {})),
     "glorot"),
])
def test_init_scheme_follows_the_consumers(doc_fn, scheme):
    doc = doc_fn()
    assert init_scheme(doc, "d") == scheme
    network = build_network(doc, seed=9)
    expected = init_weight((3, 4), 4, 3, scheme, node_rng(9, "d"), np.dtype(np.float64))
    assert np.array_equal(network.nodes["d"].op.params["weight"], expected)


@needs("relu", "sigmoid")
def test_a_fork_to_relu_and_sigmoid_is_glorot():
    doc = chain(("r", "relu", {}))
    doc.add_node(NodeData("s", "sigmoid", ["d"]))
    assert init_scheme(doc, "d") == "glorot"
    doc.remove_node("s")
    doc.add_node(NodeData("r2", "relu", ["d"]))
    assert init_scheme(doc, "d") == "he"


@needs("conv2d", "batchnorm", "add", "concat", "maxpool2d", "global_avgpool", "dropout")
def test_residual_network_builds_with_dropout_generators():
    doc = loads_graph(RESIDUAL)
    network = build_network(doc, seed=4)
    assert init_scheme(doc, "c1") == "he"
    dropout = network.nodes["d"].op
    assert isinstance(dropout.rng, np.random.Generator)
    assert dropout.rng.random() == node_rng(4, "d").random()
    assert network.nodes["bn"].op.buffers["running_var"].shape == (2,)
    feeds = {"x": np.random.default_rng(0).standard_normal((3, 2, 6, 6))}
    loss = Executor(network).run(feeds, {"loss": np.array([0, 1, 2])})
    assert np.isfinite(loss)


def test_invalid_documents_are_refused():
    doc = loads_graph(TINY_DENSE)
    doc.set_params("h", {"units": 0})
    with pytest.raises(GraphError, match="dense 'h'"):
        build_network(doc)


def test_too_large_graph_is_refused_before_any_allocation(monkeypatch):
    def no_allocation(*args, **kwargs):
        raise AssertionError("init_params called for a graph beyond the memory limit")

    monkeypatch.setattr(OPS["dense"], "init_params", no_allocation)
    doc = GraphDocument("big", [NodeData("x", "input", [], {"shape": [50_000]}),
                                NodeData("d", "dense", ["x"], {"units": 20_000})])
    with pytest.raises(GraphError, match="more than the limit of 4.00 GiB"):
        build_network(doc)
