"""Reading and writing graph files: round trips, atomic saves, one clear error per bad file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bpviz.engine import OPS
from bpviz.graph import (
    GraphDocument,
    GraphError,
    NodeData,
    dumps_graph,
    fileformat,
    load_graph,
    loads_graph,
    op_reference_markdown,
    reference,
    save_graph,
)

TINY_DENSE = """\
{"format": "bpviz-graph", "version": 1, "name": "tiny MLP",
 "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [1, 4, 4]}},
  {"id": "f", "op": "flatten", "inputs": ["x"], "pos": [10.0, -2.5]},
  {"id": "h", "op": "dense", "inputs": ["f"], "params": {"units": 5, "bias": false}},
  {"id": "fc", "op": "dense", "inputs": ["h"], "params": {"units": 3}, "trainable": false}]}
"""

TINY_CNN = """\
{"format": "bpviz-graph", "version": 1, "name": "tiny CNN",
 "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [1, 8, 8]}},
  {"id": "c1", "op": "conv2d", "inputs": ["x"], "params": {"out_channels": 8, "kernel": 3, "padding": 1}},
  {"id": "r1", "op": "relu", "inputs": ["c1"]},
  {"id": "f", "op": "flatten", "inputs": ["r1"]},
  {"id": "fc", "op": "dense", "inputs": ["f"], "params": {"units": 10}},
  {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc"]}]}
"""  # noqa: E501

RESIDUAL = """\
{"format": "bpviz-graph", "version": 1, "name": "residual",
 "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [2, 6, 6]}},
  {"id": "c1", "op": "conv2d", "inputs": ["x"], "params": {"out_channels": 2, "kernel": 3, "padding": 1}},
  {"id": "bn", "op": "batchnorm", "inputs": ["c1"]},
  {"id": "r1", "op": "relu", "inputs": ["bn"]},
  {"id": "a1", "op": "add", "inputs": ["r1", "x"]},
  {"id": "cat", "op": "concat", "inputs": ["a1", "x"]},
  {"id": "p", "op": "maxpool2d", "inputs": ["cat"], "params": {"kernel": 2}},
  {"id": "g", "op": "global_avgpool", "inputs": ["p"]},
  {"id": "d", "op": "dropout", "inputs": ["g"], "params": {"p": 0.2}},
  {"id": "fc", "op": "dense", "inputs": ["d"], "params": {"units": 3}},
  {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc"]}]}
"""  # noqa: E501


def needs(*ops: str):
    missing = [op for op in ops if op not in OPS]
    return pytest.mark.skipif(bool(missing), reason=f"ops not registered: {missing}")


def edited(text: str, edit) -> str:
    """`text` parsed, changed by edit(data) and dumped again."""
    data = json.loads(text)
    edit(data)
    return json.dumps(data)


def node(data: dict, node_id: str) -> dict:
    return next(n for n in data["nodes"] if n["id"] == node_id)


# -- round trips -----------------------------------------------------------------
@pytest.mark.parametrize("text", [
    TINY_DENSE,
    pytest.param(TINY_CNN, marks=needs("conv2d", "relu", "softmax_cross_entropy")),
    pytest.param(RESIDUAL, marks=needs("conv2d", "batchnorm", "add", "concat", "maxpool2d",
                                       "global_avgpool", "dropout", "softmax_cross_entropy")),
])
def test_load_then_save_gives_identical_text(text):
    doc = loads_graph(text)
    assert dumps_graph(doc) == text
    assert loads_graph(dumps_graph(doc)) == doc


def test_loaded_fields_are_as_written():
    doc = loads_graph(TINY_DENSE)
    assert doc.name == "tiny MLP"
    assert list(doc.nodes) == ["x", "f", "h", "fc"]
    assert doc.nodes["h"] == NodeData("h", "dense", ["f"], {"units": 5, "bias": False})
    assert doc.nodes["f"].pos == (10.0, -2.5)
    assert doc.nodes["fc"].trainable is False
    assert doc.nodes["x"].params == {"shape": [1, 4, 4]}  # as given, no defaults added


def test_params_are_written_in_the_ops_order_and_defaults_stay_omitted():
    doc = GraphDocument("order", [
        NodeData("x", "input", [], {"shape": [3]}),
        NodeData("d", "dense", ["x"], {"bias": True, "units": 2}, pos=(1, 2))])
    text = dumps_graph(doc)
    assert '{"units": 2, "bias": true}' in text
    assert '"pos": [1.0, 2.0]' in text
    assert '"trainable"' not in text
    assert dumps_graph(loads_graph(text)) == text


def test_empty_document_dumps_and_loads_when_not_strict():
    text = dumps_graph(GraphDocument("empty"))
    assert loads_graph(text, strict=False) == GraphDocument("empty")
    with pytest.raises(GraphError, match="no input node"):
        loads_graph(text)


def test_non_ascii_names_round_trip(tmp_path):
    doc = loads_graph(TINY_DENSE)
    doc.set_name("Rückwärts – ∂L/∂W")
    doc.rename("h", "verborgen_ü")
    path = tmp_path / "g.json"
    save_graph(doc, path)
    assert load_graph(path) == doc


# -- saving ----------------------------------------------------------------------
def test_save_writes_the_text_and_keeps_the_mode(tmp_path):
    path = tmp_path / "g.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    save_graph(loads_graph(TINY_DENSE), path)
    assert path.read_text(encoding="utf-8") == TINY_DENSE
    assert path.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


def test_failed_save_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "g.json"
    path.write_text("old contents")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileformat.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        save_graph(loads_graph(TINY_DENSE), path)
    assert path.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


def test_unwritable_document_raises_before_touching_the_file(tmp_path):
    path = tmp_path / "g.json"
    path.write_text("old contents")
    doc = loads_graph(TINY_DENSE)
    doc.nodes["h"].params["units"] = float("nan")
    with pytest.raises(GraphError, match="cannot write"):
        save_graph(doc, path)
    assert path.read_text() == "old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.json"]


# -- bad files -------------------------------------------------------------------
def _set(node_id: str, key: str, value):
    return lambda data: node(data, node_id).__setitem__(key, value)


def _param(node_id: str, key: str, value):
    return lambda data: node(data, node_id).setdefault("params", {}).__setitem__(key, value)


BAD_DENSE = [
    ("not json", '{"format": "bpviz-graph",\n  ,}', ["not valid JSON", "line 2, column 3"], None),
    ("not an object", "[1, 2]", ["JSON object", "got a list"], None),
    ("wrong format", lambda d: d.__setitem__("format", "png"), ['"format" must be', "png"], None),
    ("future version", lambda d: d.__setitem__("version", 2),
     ["version 2 is not supported", "supported versions: 1"], None),
    ("version as text", lambda d: d.__setitem__("version", "1"), ['"version" must be'], None),
    ("name unprintable", lambda d: d.__setitem__("name", "bell\a"),
     ['"name" contains unprintable'], None),
    ("name not text", lambda d: d.__setitem__("name", 3), ['"name" must be a string'], None),
    ("unknown top key", lambda d: d.__setitem__("edges", []), ["unknown key 'edges'"], None),
    ("no nodes", lambda d: d.pop("nodes"), ['no "nodes"'], None),
    ("nodes not a list", lambda d: d.__setitem__("nodes", {}), ['"nodes" must be a list'], None),
    ("unknown op", _set("h", "op", "dens"),
     ["node 'h'", "unknown op 'dens'", "did you mean 'dense'"], "h"),
    ("unknown param", _param("h", "unit", 3),
     ["dense 'h': ", "no parameter 'unit'", "allowed: units, bias"], "h"),
    ("param wrong type", _param("h", "units", "5"),
     ["dense 'h': ", "'units' must be an integer"], "h"),
    ("param out of range", _param("h", "units", 0), ["dense 'h': ", "at least 1"], "h"),
    ("param float for int", _param("h", "units", 2.5), ["must be an integer"], "h"),
    ("param nested", _param("h", "units", {"a": 1}), ["parameter 'units'", "got an object"], "h"),
    ("missing required param", lambda d: node(d, "h").pop("params"),
     ["dense 'h': ", "needs parameter 'units'"], "h"),
    ("missing id", lambda d: d["nodes"][1].pop("id"), ['node #2 has no "id"'], None),
    ("empty id", _set("f", "id", ""), ["node #2", "must not be empty"], None),
    ("id not a string", _set("f", "id", 7), ["node #2", "must be a string"], None),
    ("id too long", _set("f", "id", "n" * 65), ["longer than 64"], None),
    ("id unprintable", _set("f", "id", "a\nb"), ["unprintable"], None),
    ("duplicate id", _set("h", "id", "f"), ["node 'f' appears twice", "#2 and #3"], "f"),
    ("missing op", lambda d: node(d, "h").pop("op"), ["node 'h' has no \"op\""], "h"),
    ("unknown node key", _set("h", "kind", "x"), ["node 'h'", "unknown key 'kind'"], "h"),
    ("inputs not a list", _set("h", "inputs", "f"), ['"inputs" must be a list'], "h"),
    ("inputs not strings", _set("h", "inputs", [1]), ['"inputs" must be a list'], "h"),
    ("input to missing node", _set("h", "inputs", ["g"]),
     ["dense 'h': input 0 refers to 'g', which is not a node"], "h"),
    ("params not an object", _set("h", "params", [5]), ['"params" must be an object'], "h"),
    ("trainable not a bool", _set("h", "trainable", 1), ['"trainable" must be true'], "h"),
    ("pos wrong", _set("h", "pos", [1]), ['"pos" must be [x, y]'], "h"),
    ("pos not numbers", _set("h", "pos", [True, 2]), ['"pos" must be [x, y]'], "h"),
    ("cycle", _set("f", "inputs", ["fc"]), ["cycle", "'f' → 'h' → 'fc' → 'f'"], "f"),
    ("self loop", _set("fc", "inputs", ["fc"]), ["cycle", "'fc' → 'fc'"], "fc"),
    ("too many inputs", _set("h", "inputs", ["f", "x"]),
     ["dense 'h' needs exactly 1 input, got 2"], "h"),
    ("input with inputs", _set("x", "inputs", ["f"]), ["input 'x' takes no inputs, got 1"], "x"),
    ("shape does not fit", lambda d: (_set("f", "op", "dense")(d), _param("f", "units", 2)(d)),
     ["dense 'f': ", "needs a flat input", "add a flatten node"], "f"),
    ("no input node", lambda d: d.__setitem__("nodes", d["nodes"][1:2]) or
     d["nodes"][0].__setitem__("inputs", []), ["no input node"], None),
    ("beyond the memory limit",
     lambda d: (_param("x", "shape", [100, 100])(d), _param("h", "units", 1_000_000)(d)),
     ["needs about", "GiB", "limit of 4.00 GiB", "dense 'h'"], None),
    ("huge activations", _param("x", "shape", [10**14, 10**14]),
     ["input 'x'", "beyond the memory limit"], "x"),
]


@pytest.mark.parametrize("case, change, expected, bad_node", BAD_DENSE,
                         ids=[case[0] for case in BAD_DENSE])
def test_bad_file_gives_one_clear_error(case, change, expected, bad_node):
    text = change if isinstance(change, str) else edited(TINY_DENSE, change)
    with pytest.raises(GraphError) as info:
        loads_graph(text)
    for part in expected:
        assert part in str(info.value)
    assert info.value.node == bad_node


@pytest.mark.parametrize("text, expected", [
    ('{"a": NaN}', "NaN is not allowed"),
    ('{"a": [-Infinity]}', "-Infinity is not allowed"),
    ('{"a": 1e999}', "too large"),
    ('{"a": 1234567890123456789}', "at most 15 digits"),
    ('{"a": 1, "a": 2}', "'a' appears twice"),
    ('{"format": "bpviz-graph", "version": 1, "name": "\\ud800", "nodes": []}',
     "unprintable"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("", "not valid JSON"),
])
def test_bad_json_is_a_graph_error(text, expected):
    with pytest.raises(GraphError, match=expected):
        loads_graph(text)


def test_nan_inside_a_valid_graph_is_refused():
    text = TINY_DENSE.replace('"units": 5', '"units": NaN')
    with pytest.raises(GraphError, match="NaN"):
        loads_graph(text)


@needs("conv2d")
def test_conv_shape_error_names_the_node_and_rule():
    text = TINY_CNN.replace('"kernel": 3, "padding": 1', '"kernel": 5, "dilation": 2')
    with pytest.raises(GraphError) as info:
        loads_graph(text)
    assert str(info.value) == ("conv2d 'c1': kernel 5 with dilation 2 spans 9 pixels "
                               "but its input is 8×8")


@needs("add")
def test_merge_with_one_input():
    text = edited(TINY_DENSE, lambda d: (_set("h", "op", "add")(d), _set("h", "params", {})(d),
                                        _set("h", "id", "a1")(d),
                                        _set("fc", "inputs", ["a1"])(d)))
    with pytest.raises(GraphError, match="add 'a1' needs at least 2 inputs, got 1"):
        loads_graph(text)


def test_source_prefixes_the_message():
    with pytest.raises(GraphError, match=r"^lecture\.json: not valid JSON"):
        loads_graph("{", source="lecture.json")


def test_huge_file_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.json"
    with path.open("wb") as handle:
        handle.truncate(21 * 2**20)
    with pytest.raises(GraphError, match="limited to 20 MiB"):
        load_graph(path)
    with pytest.raises(GraphError, match="limited to 20 MiB"):
        loads_graph(" " * (20 * 2**20 + 1))


def test_unreadable_files(tmp_path):
    with pytest.raises(GraphError, match="cannot read"):
        load_graph(tmp_path / "missing.json")
    path = tmp_path / "latin1.json"
    path.write_bytes(TINY_DENSE.replace("tiny MLP", "tiny M\xfcLP").encode("latin-1"))
    with pytest.raises(GraphError, match="not UTF-8"):
        load_graph(path)


def test_non_strict_loading_keeps_a_graph_that_is_being_edited():
    text = edited(TINY_DENSE, _set("h", "op", "dens"))
    doc = loads_graph(text, strict=False)
    assert doc.nodes["h"].op == "dens"
    assert dumps_graph(doc) == dumps_graph(loads_graph(dumps_graph(doc), strict=False))


# -- the documentation ---------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "file-format.md"


def test_reference_lists_every_op_and_parameter():
    markdown = op_reference_markdown()
    for name, cls in OPS.items():
        assert f"### `{name}`" in markdown
        for spec in cls.hypers:
            assert f"| `{spec.name}` |" in markdown


def test_documentation_names_every_registered_op():
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in OPS if f"### `{name}`" not in text]
    assert not missing, f"{DOC} lacks {missing}: run python -m bpviz.graph.reference"


def test_documentation_reference_is_up_to_date():
    text = DOC.read_text(encoding="utf-8")
    assert reference.with_reference(text) == text, \
        f"{DOC} is stale: run python -m bpviz.graph.reference"
