# ruff: noqa: E501  (graph-file lines are written as the file has them)
"""Groups of nodes: written to and read from graph files, edited in the document."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bpviz.graph import GraphError, dumps_graph, load_graph, loads_graph
from bpviz.graph.document import GroupData

DOC = Path(__file__).resolve().parents[2] / "docs" / "file-format.md"
EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"

GROUPED = """\
{"format": "bpviz-graph", "version": 1, "name": "two stages",
 "groups": [
  {"name": "stage1", "folded": true},
  {"name": "stage 2"}],
 "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [1, 8, 8]}},
  {"id": "c1", "op": "conv2d", "inputs": ["x"], "params": {"out_channels": 2, "kernel": 1}, "group": "stage1"},
  {"id": "r1", "op": "relu", "inputs": ["c1"], "group": "stage1"},
  {"id": "c2", "op": "conv2d", "inputs": ["r1"], "params": {"out_channels": 2, "kernel": 1}, "group": "stage 2"},
  {"id": "f", "op": "flatten", "inputs": ["c2"]},
  {"id": "loss", "op": "mse", "inputs": ["f"]}]}
"""


def test_a_file_with_groups_round_trips_to_the_same_text():
    doc = loads_graph(GROUPED)
    assert [g for g in doc.groups.values()] == [GroupData("stage1", True),
                                                 GroupData("stage 2", False)]
    assert doc.group_members("stage1") == ["c1", "r1"]
    assert doc.nodes["f"].group is None
    assert dumps_graph(doc) == GROUPED
    assert loads_graph(dumps_graph(doc)) == doc


def test_the_documented_example_with_groups_loads():
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"## Groups.*?```json\n(.*?)```", text, re.S).group(1)
    doc = loads_graph(example, strict=False)
    assert doc.groups["stage1"].folded and doc.group_members("stage1") == ["c1", "r1"]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_bundled_file_round_trips_with_its_groups(path):
    text = path.read_text(encoding="utf-8")
    doc = load_graph(path)
    assert loads_graph(dumps_graph(doc)) == doc
    assert ('"groups"' in text) == ('"groups"' in dumps_graph(doc)) == bool(doc.groups)


def test_a_file_written_before_groups_loads_without_any():
    doc = loads_graph('{"format": "bpviz-graph", "version": 1, "nodes": ['
                      '{"id": "x", "op": "input", "params": {"shape": [2]}}]}')
    assert doc.groups == {} and doc.nodes["x"].group is None
    assert '"group' not in dumps_graph(doc)


def _with(change) -> str:
    data = json.loads(GROUPED)
    change(data)
    return json.dumps(data)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["nodes"][1].update(group="stage9"),
     "conv2d 'c1': its group 'stage9' is not in the graph's \"groups\" list"),
    (lambda d: d["nodes"][1].update(group=3), "\"group\" must be the name of a group"),
    (lambda d: d.update(groups={"stage1": {}}), "\"groups\" must be a list, got an object"),
    (lambda d: d["groups"].append({"name": "stage1"}), "group 'stage1' appears twice"),
    (lambda d: d["groups"].append({"name": ""}), "group #3: a group name must not be empty"),
    (lambda d: d["groups"][0].update(colour="red"), "group #1: unknown key 'colour'"),
    (lambda d: d["groups"][0].update(folded="yes"), "'stage1': \"folded\" must be true or false"),
    (lambda d: d["groups"].append("stage3"), "group #3 must be a JSON object, got a string"),
])
def test_bad_groups_are_refused_with_a_clear_message(change, message):
    with pytest.raises(GraphError) as caught:
        loads_graph(_with(change))
    assert message in str(caught.value)


def test_document_edits_make_rename_fold_and_drop_groups():
    doc = loads_graph(GROUPED)
    events = []
    doc.subscribe(lambda event, payload: events.append(event))
    doc.make_group("tail", ["f", "loss"])
    doc.rename_group("stage1", "stem")
    doc.set_folded("stem", False)
    assert doc.group_members("stem") == ["c1", "r1"] and list(doc.groups)[0] == "stem"
    assert doc.group_of("loss").name == "tail"
    state = doc.group_state()
    doc.ungroup("tail")
    assert doc.nodes["loss"].group is None and "tail" not in doc.groups
    doc.set_group_state(*state)
    assert doc.group_members("tail") == ["f", "loss"]
    assert events == ["groups_changed"] * 5
    with pytest.raises(GraphError, match="a group named 'stem' already exists"):
        doc.make_group("stem", ["x"])
    with pytest.raises(GraphError, match="there is no group 'nope'"):
        doc.ungroup("nope")
    assert loads_graph(dumps_graph(doc)) == doc
