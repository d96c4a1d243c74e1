"""Shape inference, validation order, the memory estimate and document edits."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from bpviz.graph import (
    MAX_BYTES,
    GraphDocument,
    GraphError,
    NodeData,
    estimate_bytes,
    infer_shapes,
    loads_graph,
    validate,
)
from tests.graph.test_fileformat import RESIDUAL, TINY_DENSE, needs


def mlp() -> GraphDocument:
    return loads_graph(TINY_DENSE)


# -- infer_shapes ------------------------------------------------------------------
def test_shapes_and_parameter_counts():
    report = infer_shapes(mlp())
    assert report.ok
    assert report.shapes == {"x": (1, 4, 4), "f": (16,), "h": (5,), "fc": (3,)}
    assert report.param_counts == {"x": 0, "f": 0, "h": 16 * 5, "fc": 5 * 3 + 3}
    assert report.order == ["x", "f", "h", "fc"]


@needs("conv2d", "batchnorm", "add", "concat", "maxpool2d", "global_avgpool", "dropout")
def test_residual_shapes_and_torch_parameter_counts():
    report = validate(loads_graph(RESIDUAL))
    assert report.shapes["cat"] == (4, 6, 6)
    assert report.shapes["p"] == (4, 3, 3)
    assert report.shapes["loss"] == ()
    assert report.param_counts["c1"] == 2 * 2 * 3 * 3 + 2
    assert report.param_counts["bn"] == 2 + 2  # weight, bias; running stats are buffers
    assert report.buffer_counts["bn"] == 2 + 2
    assert report.param_counts["fc"] == 4 * 3 + 3


def test_a_bad_node_is_reported_and_the_rest_keeps_working():
    doc = mlp()
    doc.add_node(NodeData("side", "dense", ["x"], {"units": 2}))  # needs a flat input
    doc.add_node(NodeData("after", "dense", ["side"], {"units": 2}))
    report = infer_shapes(doc)
    assert not report.ok
    assert report.errors == {"side": "dense 'side': dense needs a flat input [features], "
                                     "got 1×4×4: add a flatten node"}
    assert report.shapes["side"] is None
    assert report.shapes["after"] is None  # downstream: no shape, no error of its own
    assert report.shapes["fc"] == (3,)


@pytest.mark.parametrize("change, node, message", [
    (lambda d: d.set_params("h", {"units": -1}), "h", "dense 'h': dense parameter 'units'"),
    (lambda d: d.set_params("h", {"units": 10**40}), "h", "dense 'h': "),
    (lambda d: d.set_params("h", {"units": 2, "colour": "red"}), "h", "no parameter 'colour'"),
    (lambda d: d.set_params("h", {1: 2}), "h", "params must map parameter names"),
    (lambda d: d.set_params("x", {"shape": [0, 3]}), "x", "must be at least 1"),
    (lambda d: d.add_node(NodeData("q", "conv9d", ["x"])), "q", "unknown op 'conv9d'"),
    (lambda d: d.set_inputs("fc", ["h", "h"]), "fc", "needs exactly 1 input, got 2"),
    (lambda d: d.set_inputs("fc", ["nowhere"]), "fc", "refers to 'nowhere'"),
    (lambda d: d.set_inputs("f", ["fc"]), "f", "cycle"),
])
def test_problems_never_raise_from_infer_shapes(change, node, message):
    doc = mlp()
    change(doc)
    report = infer_shapes(doc)
    assert message in report.errors[node]
    assert report.shapes[node] is None
    assert isinstance(estimate_bytes(doc), int)
    with pytest.raises(GraphError) as info:
        validate(doc)
    assert info.value.node == node and message in str(info.value)


def test_cycle_members_all_get_the_message_and_downstream_gets_none():
    doc = mlp()
    doc.add_node(NodeData("tail", "dense", ["h"], {"units": 1}))
    doc.set_inputs("f", ["fc"])
    report = infer_shapes(doc)
    assert set(report.errors) == {"f", "h", "fc"}
    assert "'f' → 'h' → 'fc' → 'f'" in report.errors["f"]
    assert report.shapes["tail"] is None and "tail" not in report.errors
    assert report.shapes["x"] == (1, 4, 4)


# -- validate ----------------------------------------------------------------------
def test_structural_problems_come_before_shape_problems():
    doc = mlp()
    doc.set_inputs("h", ["x"])  # a shape problem early in the file
    doc.add_node(NodeData("late", "dense", ["fc"], {"units": 0}))  # a parameter problem
    with pytest.raises(GraphError, match="'units' must be at least 1") as info:
        validate(doc)
    assert info.value.node == "late"


def test_shape_problems_are_reported_in_topological_order():
    doc = GraphDocument("order", [
        NodeData("b", "dense", ["a"], {"units": 2}),
        NodeData("x", "input", [], {"shape": [2, 2]}),
        NodeData("a", "dense", ["x"], {"units": 2}),
        NodeData("c", "dense", ["x"], {"units": 2})])
    with pytest.raises(GraphError) as info:
        validate(doc)
    assert info.value.node == "a"  # c fails too, and comes later
    assert set(infer_shapes(doc).errors) == {"a", "c"}


def test_no_input_node_is_reported_first():
    doc = GraphDocument("lonely", [NodeData("f", "flatten")])
    with pytest.raises(GraphError, match="no input node") as info:
        validate(doc)
    assert info.value.node is None


def test_validate_returns_the_report():
    report = validate(mlp())
    assert report.ok and report.shapes["fc"] == (3,)


# -- the memory estimate ------------------------------------------------------------
def test_estimate_counts_parameters_buffers_and_activations_of_one_sample():
    activations = 16 + 16 + 5 + 3
    params = 80 + 18
    assert estimate_bytes(mlp()) == (activations + params) * 8
    assert estimate_bytes(mlp(), np.float32) == (activations + params) * 4


def test_estimate_of_a_broken_graph_counts_what_is_known():
    doc = mlp()
    doc.set_params("h", {"units": 0})
    assert estimate_bytes(doc) == (16 + 16) * 8


def test_graphs_beyond_the_limit_are_refused_with_the_estimate():
    doc = GraphDocument("big", [
        NodeData("x", "input", [], {"shape": [4096]}),
        NodeData("d", "dense", ["x"], {"units": 200_000})])
    assert estimate_bytes(doc) > MAX_BYTES
    assert estimate_bytes(doc, np.float32) < MAX_BYTES
    validate(doc, np.float32)
    with pytest.raises(GraphError) as info:
        validate(doc)
    text = str(info.value)
    assert "about 6.11 GiB" in text and "float64" in text and "limit of 4.00 GiB" in text
    assert "dense 'd'" in text


def test_absurd_shapes_do_not_overflow():
    doc = GraphDocument("absurd", [
        NodeData("x", "input", [], {"shape": [10**12, 10**12, 10**12]}),
        NodeData("f", "flatten", ["x"])])
    report = infer_shapes(doc)
    assert "beyond the memory limit" in report.errors["x"]
    assert report.shapes["f"] is None and estimate_bytes(doc) == 0


# -- the document ---------------------------------------------------------------------
def test_edits_notify_listeners():
    doc, events = mlp(), []
    unsubscribe = doc.subscribe(lambda name, payload: events.append((name, payload)))
    doc.add_node(NodeData("y", "dense", ["f"], {"units": 2}))
    doc.connect("h", "y", 0)
    doc.set_params("y", {"units": 4})
    doc.set_trainable("y", False)
    doc.set_pos("y", (1, 2))
    doc.rename("y", "z")
    doc.remove_node("h")
    doc.set_name("renamed")
    unsubscribe()
    doc.remove_node("z")
    assert [name for name, _ in events] == [
        "node_added", "inputs_changed", "params_changed", "trainable_changed", "pos_changed",
        "node_renamed", "node_removed", "name_changed"]
    assert events[6][1] == {"id": "h", "consumers": ["fc", "z"]}


def test_remove_node_unwires_its_consumers():
    doc = mlp()
    doc.remove_node("f")
    assert doc.nodes["h"].inputs == []
    assert "f" not in doc.nodes


def test_connect_replaces_appends_and_refuses_cycles():
    doc = mlp()
    doc.connect("x", "h", 0)
    assert doc.nodes["h"].inputs == ["x"]
    doc.connect("f", "h")
    assert doc.nodes["h"].inputs == ["x", "f"]
    doc.disconnect("h", 0)
    assert doc.nodes["h"].inputs == ["f"]
    with pytest.raises(GraphError, match="cycle"):
        doc.connect("fc", "f", 0)
    with pytest.raises(GraphError, match="no input port 5"):
        doc.connect("x", "h", 5)
    with pytest.raises(GraphError, match="no node 'nope'"):
        doc.connect("nope", "h", 0)


def test_rename_keeps_order_and_wires():
    doc = mlp()
    doc.rename("h", "hidden")
    assert list(doc.nodes) == ["x", "f", "hidden", "fc"]
    assert doc.nodes["fc"].inputs == ["hidden"] and doc.nodes["hidden"].id == "hidden"
    with pytest.raises(GraphError, match="already exists"):
        doc.rename("hidden", "x")
    with pytest.raises(GraphError, match="must not be empty"):
        doc.add_node(NodeData("", "relu"))


def test_networkx_view_copy_and_topological_order():
    doc = mlp()
    doc.nodes["h"].inputs = ["f"]
    doc.add_node(NodeData("twice", "dense", ["f", "f"], {"units": 1}))
    graph = doc.to_networkx()
    assert isinstance(graph, nx.DiGraph)
    assert graph.edges["f", "twice"]["port"] == 0 and graph.edges["f", "twice"]["ports"] == [0, 1]
    assert graph.nodes["h"]["data"] is doc.nodes["h"]
    twin = doc.copy()
    assert twin == doc and twin.nodes["h"] is not doc.nodes["h"]
    twin.set_params("h", {"units": 9})
    assert doc.nodes["h"].params == {"units": 5, "bias": False}
    assert doc.topological_ids() == ["x", "f", "h", "fc", "twice"]
    doc.set_inputs("f", ["fc"])
    with pytest.raises(GraphError, match="cycle"):
        doc.topological_ids()
