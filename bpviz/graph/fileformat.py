"""Reading and writing graph files (format "bpviz-graph", version 1).

Plain JSON only: nothing in a file is ever executed. Every problem becomes
one GraphError naming the node and the rule. docs/file-format.md describes
the format; its op table comes from `bpviz.graph.reference`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bpviz.atomic import atomic_write
from bpviz.engine import OPS
from bpviz.graph import limits
from bpviz.graph.document import (
    GraphDocument,
    GraphError,
    GroupData,
    NodeData,
    group_name_problem,
    id_problem,
)
from bpviz.graph.shapes import validate

FORMAT = "bpviz-graph"
VERSION = 1
SUPPORTED_VERSIONS = (1,)
TOP_KEYS = ("format", "version", "name", "description", "groups", "nodes")
NODE_KEYS = ("id", "op", "inputs", "params", "trainable", "pos", "group")
GROUP_KEYS = ("name", "folded")
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 4000
MAX_TEXT_LENGTH = 64


# -- parsing -------------------------------------------------------------------
def _reject_constant(name: str) -> Any:
    raise GraphError(f"{name} is not allowed in a graph file: every number must be finite")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise GraphError(f"the number {text[:30]} is too large: every number must be finite")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 15:
        raise GraphError(f"the number {text[:30]}{'…' if len(text) > 30 else ''} is too "
                         "large: integers in a graph file must have at most 15 digits")
    return int(text)


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise GraphError(f"the key {key!r} appears twice in one JSON object")
        result[key] = value
    return result


def _parse_json(text: str) -> Any:
    if len(text) > limits.MAX_FILE_BYTES:
        raise GraphError(f"the file is {len(text) / 2**20:.1f} MiB; graph files are limited "
                         f"to {limits.MAX_FILE_BYTES // 2**20} MiB")
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                          parse_int=_bounded_int, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as exc:
        raise GraphError(f"not valid JSON: {exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno}") from None
    except RecursionError:
        raise GraphError("the JSON is nested too deeply to be a graph file") from None


# -- checking the structure ----------------------------------------------------
def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "a list" if isinstance(value, list) else "an object"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_keys(data: dict, allowed: tuple[str, ...], where: str, node: str | None) -> None:
    unknown = [key for key in data if key not in allowed]
    if unknown:
        raise GraphError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(allowed)})",
                         node)


def _check_text(value: Any, what: str, limit: int, node: str | None = None) -> str:
    if not isinstance(value, str):
        raise GraphError(f"{what} must be a string, got {_kind(value)}", node)
    if len(value) > limit:
        raise GraphError(f"{what} is longer than {limit} characters", node)
    if value and not value.isprintable():
        raise GraphError(f"{what} contains unprintable characters", node)
    return value


def _check_description(value: Any) -> str:
    what = "the graph's \"description\""
    if isinstance(value, str) and ("\n" in value or "\r" in value):
        raise GraphError(f"{what} must be one paragraph: no line breaks")
    return _check_text(value, what, MAX_DESCRIPTION_LENGTH)


def _check_header(data: Any) -> None:
    if not isinstance(data, dict):
        raise GraphError(f"a graph file must hold a JSON object {{\"format\": \"{FORMAT}\", …}}, "
                         f"got {_kind(data)}")
    _check_keys(data, TOP_KEYS, "the graph", None)
    if data.get("format") != FORMAT:
        raise GraphError(f"not a bpviz graph file: \"format\" must be \"{FORMAT}\", "
                         f"got {json.dumps(data.get('format'))}")
    version = data.get("version")
    supported = ", ".join(map(str, SUPPORTED_VERSIONS))
    if not isinstance(version, int) or isinstance(version, bool):
        raise GraphError(f"\"version\" must be an integer (supported versions: {supported}), "
                         f"got {json.dumps(version)}")
    if version not in SUPPORTED_VERSIONS:
        raise GraphError(f"graph file version {version} is not supported "
                         f"(supported versions: {supported})")
    if "nodes" not in data:
        raise GraphError("the graph has no \"nodes\" list")
    if not isinstance(data["nodes"], list):
        raise GraphError(f"\"nodes\" must be a list, got {_kind(data['nodes'])}")
    if len(data["nodes"]) > limits.MAX_NODES:
        raise GraphError(f"the graph has {len(data['nodes'])} nodes; the limit is "
                         f"{limits.MAX_NODES}")


def _node_id(raw: Any, index: int) -> str:
    where = f"node #{index + 1}"
    if not isinstance(raw, dict):
        raise GraphError(f"{where} must be a JSON object, got {_kind(raw)}")
    if "id" not in raw:
        raise GraphError(f"{where} has no \"id\"")
    problem = id_problem(raw["id"])
    if problem:
        raise GraphError(f"{where}: {problem}")
    return raw["id"]


def _param_value(value: Any, where: str, node: str) -> Any:
    def scalar(item: Any) -> bool:
        if isinstance(item, str):
            _check_text(item, where, MAX_TEXT_LENGTH, node)
        return item is None or isinstance(item, (bool, int, float, str))

    if scalar(value) or (isinstance(value, list) and len(value) <= 8
                         and all(scalar(item) for item in value)):
        return value
    raise GraphError(f"{where} must be a number, boolean, string or a short list of them, "
                     f"got {_kind(value)}", node)


def _node_fields(raw: dict, node_id: str) -> NodeData:
    where = f"node '{node_id}'"
    _check_keys(raw, NODE_KEYS, where, node_id)
    if "op" not in raw:
        raise GraphError(f"{where} has no \"op\"", node_id)
    op = _check_text(raw["op"], f"{where}: \"op\"", MAX_TEXT_LENGTH, node_id)
    label = f"{op} '{node_id}'" if op in OPS else where
    inputs = raw.get("inputs", [])
    if not isinstance(inputs, list) or not all(isinstance(src, str) for src in inputs):
        raise GraphError(f"{label}: \"inputs\" must be a list of node ids (strings)", node_id)
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise GraphError(f"{label}: \"params\" must be an object, got {_kind(params)}", node_id)
    for key, value in params.items():
        _param_value(value, f"{label}: parameter {key!r}", node_id)
    trainable = raw.get("trainable", True)
    if not isinstance(trainable, bool):
        raise GraphError(f"{label}: \"trainable\" must be true or false", node_id)
    group = raw.get("group")
    if group is not None and not isinstance(group, str):
        raise GraphError(f"{label}: \"group\" must be the name of a group (a string)", node_id)
    return NodeData(node_id, op, list(inputs), dict(params), trainable,
                    _node_pos(raw.get("pos"), label, node_id), group)


def _groups(raw: Any) -> dict[str, GroupData]:
    if not isinstance(raw, list):
        raise GraphError(f"\"groups\" must be a list, got {_kind(raw)}")
    groups: dict[str, GroupData] = {}
    for index, entry in enumerate(raw):
        where = f"group #{index + 1}"
        if not isinstance(entry, dict):
            raise GraphError(f"{where} must be a JSON object, got {_kind(entry)}")
        _check_keys(entry, GROUP_KEYS, where, None)
        problem = group_name_problem(entry.get("name"))
        if problem:
            raise GraphError(f"{where}: {problem}")
        name = entry["name"]
        if name in groups:
            raise GraphError(f"group '{name}' appears twice: group names must be unique")
        folded = entry.get("folded", False)
        if not isinstance(folded, bool):
            raise GraphError(f"group '{name}': \"folded\" must be true or false")
        groups[name] = GroupData(name, folded)
    return groups


def _node_pos(pos: Any, label: str, node_id: str) -> tuple[float, float] | None:
    if pos is None:
        return None
    if not isinstance(pos, list) or len(pos) != 2 or not all(map(_is_number, pos)):
        raise GraphError(f"{label}: \"pos\" must be [x, y] with two finite numbers", node_id)
    return float(pos[0]), float(pos[1])


def document_from_json(data: Any) -> GraphDocument:
    """A GraphDocument from parsed JSON; checks the file's structure only."""
    _check_header(data)
    name = _check_text(data.get("name", ""), "the graph's \"name\"", MAX_NAME_LENGTH)
    doc = GraphDocument(name, description=_check_description(data.get("description", "")))
    first_seen: dict[str, int] = {}
    for index, raw in enumerate(data["nodes"]):
        node_id = _node_id(raw, index)
        if node_id in first_seen:
            raise GraphError(f"node '{node_id}' appears twice (nodes #{first_seen[node_id] + 1} "
                             f"and #{index + 1}): ids must be unique", node_id)
        first_seen[node_id] = index
        doc.nodes[node_id] = _node_fields(raw, node_id)
    doc.groups = _groups(data.get("groups", []))
    for node in doc.nodes.values():
        if node.group is not None and node.group not in doc.groups:
            raise GraphError(f"{node.op} '{node.id}': its group '{node.group}' is not in the "
                             "graph's \"groups\" list", node.id)
    return doc


# -- public API ----------------------------------------------------------------
def loads_graph(text: str | bytes, source: str = "<string>", strict: bool = True
                ) -> GraphDocument:
    """Parse a graph file's text. Raises GraphError for any problem.

    strict=False accepts a well-formed file whose graph is not (yet) sound,
    e.g. one saved mid-edit with an unknown op or a shape that does not fit;
    infer_shapes then reports the problems per node.
    """
    try:
        if isinstance(text, bytes):
            text = _decode(text)
        doc = document_from_json(_parse_json(text))
        if strict:
            validate(doc)
        return doc
    except GraphError as exc:
        if source == "<string>":
            raise
        raise GraphError(f"{source}: {exc}", exc.node) from None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise GraphError(f"the file is not UTF-8 text (byte {exc.start})") from None


def load_graph(path: str | os.PathLike, strict: bool = True) -> GraphDocument:
    """Read a graph file; files over limits.MAX_FILE_BYTES are refused unread."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.MAX_FILE_BYTES:
            raise GraphError(f"{path}: the file is {size / 2**20:.1f} MiB; graph files are "
                             f"limited to {limits.MAX_FILE_BYTES // 2**20} MiB")
        with path.open("rb") as handle:
            data = handle.read(limits.MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise GraphError(f"cannot read {path}: {exc.strerror or exc}") from None
    return loads_graph(data, str(path), strict)


def node_json(node: NodeData, groups: dict[str, GroupData] | None = None
              ) -> dict[str, Any]:
    """One node as written: defaults left out, params in the op's order; its group
    only when it is one of `groups`."""
    entry: dict[str, Any] = {"id": node.id, "op": node.op}
    if node.inputs:
        entry["inputs"] = list(node.inputs)
    if node.params:
        cls = OPS.get(node.op)
        order = [spec.name for spec in cls.hypers] if cls else []
        keys = [k for k in order if k in node.params]
        keys += sorted(k for k in node.params if k not in order)
        entry["params"] = {k: node.params[k] for k in keys}
    if not node.trainable:
        entry["trainable"] = False
    if node.pos is not None:
        entry["pos"] = [float(node.pos[0]), float(node.pos[1])]
    if node.group is not None and groups and node.group in groups:
        entry["group"] = node.group
    return entry


def group_json(group: GroupData) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": group.name}
    if group.folded:
        entry["folded"] = True
    return entry


def dumps_graph(doc: GraphDocument) -> str:
    """The file text: one node per line; loads_graph(dumps_graph(d)) == d."""
    def dump(value: Any) -> str:
        try:
            return json.dumps(value, ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise GraphError(f"cannot write the graph as JSON: {exc}") from None

    head = f'{{"format": {dump(FORMAT)}, "version": {VERSION}, "name": {dump(doc.name)},\n'
    if doc.description:
        head += f' "description": {dump(doc.description)},\n'
    if doc.groups:
        head += ' "groups": [\n' + ",\n".join(f"  {dump(group_json(group))}"
                                            for group in doc.groups.values()) + "],\n"
    head += ' "nodes": ['
    lines = [f"  {dump(node_json(node, doc.groups))}" for node in doc.nodes.values()]
    if not lines:
        return head + "]}\n"
    return head + "\n" + ",\n".join(lines) + "]}\n"


def save_graph(doc: GraphDocument, path: str | os.PathLike) -> None:
    """Write atomically: a temp file beside `path`, fsync, then os.replace.

    Either the old file or the complete new one exists at every moment; the
    temp file is removed when anything fails. OSError propagates.
    """
    data = dumps_graph(doc).encode("utf-8")
    atomic_write(path, lambda handle: handle.write(data))
