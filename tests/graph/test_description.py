"""The optional top-level "description": loaded, kept, written back, and checked."""

from __future__ import annotations

import json

import pytest

from bpviz.graph import GraphDocument, GraphError, NodeData, dumps_graph, loads_graph
from bpviz.graph.fileformat import MAX_DESCRIPTION_LENGTH

WITH_DESCRIPTION = """\
{"format": "bpviz-graph", "version": 1, "name": "tiny MLP",
 "description": "Two inputs, one sigmoid unit: watch ∂L/∂W appear at the dense node.",
 "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [2]}},
  {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 1}},
  {"id": "y", "op": "sigmoid", "inputs": ["fc"]},
  {"id": "loss", "op": "bce", "inputs": ["y"]}]}
"""


def graph_json(**top) -> str:
    data = {"format": "bpviz-graph", "version": 1, "name": "g",
            "nodes": [{"id": "x", "op": "input", "params": {"shape": [2]}}]}
    data.update(top)
    return json.dumps(data)


def test_description_is_loaded():
    doc = loads_graph(WITH_DESCRIPTION)
    assert doc.description.startswith("Two inputs, one sigmoid unit")


def test_text_with_a_description_round_trips_exactly():
    assert dumps_graph(loads_graph(WITH_DESCRIPTION)) == WITH_DESCRIPTION


def test_document_round_trip_keeps_the_description():
    doc = GraphDocument("g", [NodeData("x", "input", params={"shape": [3]})],
                        description="Ünïcode and “quotes” are kept.")
    again = loads_graph(dumps_graph(doc))
    assert again == doc and again.description == doc.description


def test_missing_description_is_empty_and_not_written():
    doc = loads_graph(graph_json())
    assert doc.description == ""
    assert "description" not in dumps_graph(doc)


def test_description_takes_part_in_equality_and_copies():
    a = loads_graph(graph_json(description="one"))
    b = loads_graph(graph_json(description="two"))
    assert a != b
    assert a.copy() == a and a.copy().description == "one"


def test_set_description_notifies_listeners():
    doc = loads_graph(graph_json())
    events = []
    doc.subscribe(lambda event, payload: events.append((event, payload)))
    doc.set_description("new text")
    assert doc.description == "new text"
    assert events == [("description_changed", {"description": "new text"})]


@pytest.mark.parametrize(("value", "expected"), [
    (42, "must be a string, got a number"),
    (None, "must be a string, got null"),
    ("two\nparagraphs", "one paragraph"),
    ("bell\x07", "unprintable"),
    ("x" * (MAX_DESCRIPTION_LENGTH + 1), f"longer than {MAX_DESCRIPTION_LENGTH}"),
])
def test_bad_descriptions_are_refused(value, expected):
    with pytest.raises(GraphError) as caught:
        loads_graph(graph_json(description=value))
    assert "description" in str(caught.value) and expected in str(caught.value)


def test_longest_allowed_description_loads():
    text = "x" * MAX_DESCRIPTION_LENGTH
    assert loads_graph(graph_json(description=text)).description == text
