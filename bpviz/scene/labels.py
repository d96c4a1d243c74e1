"""Texts and colours the canvas shows: node titles, parameter counts (shapes are
written by bpviz.engine.shape_text).

Plain functions of the graph data (no Qt objects), so the inspector and
exports can write the same words.
"""

from __future__ import annotations

from typing import Any

from bpviz.engine import OPS
from bpviz.engine.shape_text import as_pair, pair_text, shape_text, square_text
from bpviz.graph import NodeData

# Okabe–Ito, a palette that colour-blind viewers can tell apart.
FAMILY_COLOURS: dict[str, str] = {
    "input": "#0072B2",  # blue
    "layer": "#56B4E9",  # sky blue
    "pooling": "#009E73",  # bluish green
    "merge": "#CC79A7",  # reddish purple
    "activation": "#E69F00",  # orange
    "norm": "#F0E442",  # yellow
    "loss": "#000000",  # black
}
UNKNOWN_COLOUR = "#999999"
ERROR_COLOUR = "#D55E00"  # vermillion: only ever used for errors
FROZEN_COLOUR = "#BBBBBB"


def family(op_name: str) -> str:
    cls = OPS.get(str(op_name))
    return cls.family if cls is not None else ""


def family_colour(op_name: str) -> str:
    return FAMILY_COLOURS.get(family(op_name), UNKNOWN_COLOUR)


def format_count(count: int) -> str:
    return f"{count:,} param" + ("" if count == 1 else "s")


def _extras(params: dict[str, Any], defaults: dict[str, Any]) -> list[str]:
    """Short forms of stride, padding and dilation that differ from the default."""
    words = []
    for key, letter in (("stride", "s"), ("padding", "p"), ("dilation", "d")):
        value, default = params.get(key), defaults.get(key)
        if value is not None and (default is None or as_pair(value) != as_pair(default)):
            words.append(f"{letter}{pair_text(value)}")
    return words


def _number(value: Any) -> str:
    """A number as short as it goes ("0.5", "1e-05"); anything else as written."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}"
    return str(value)


def node_title(node: NodeData) -> str:
    """The op with its key parameters, e.g. "conv2d 8 3×3 d2" or "dense 10".

    Never fails: a half-edited file may hold any value anywhere (a word where a
    number belongs); the title then shows it as written, or just the op.
    """
    try:
        return _title(node)
    except Exception:  # noqa: BLE001 - a title must not stop the canvas from drawing
        return str(node.op)


def _title(node: NodeData) -> str:
    p = node.params if isinstance(node.params, dict) else {}
    op = str(node.op)
    if op == "input" and isinstance(p.get("shape"), list):
        return f"input {shape_text(p['shape'])}"
    if op == "dense" and "units" in p:
        return f"dense {p['units']}"
    if op == "conv2d":
        words = [op, str(p.get("out_channels", "?")), square_text(p.get("kernel", "?"))]
        return " ".join(words + _extras(p, {"stride": 1, "padding": 0, "dilation": 1}))
    if op in ("maxpool2d", "avgpool2d"):
        kernel = p.get("kernel", "?")
        return " ".join([op, square_text(kernel)] + _extras(p, {"stride": kernel, "padding": 0}))
    if op == "leaky_relu" and "slope" in p:
        return f"leaky_relu {_number(p['slope'])}"
    if op == "dropout" and "p" in p:
        return f"dropout p={_number(p['p'])}"
    if p.get("reduction") not in (None, "mean"):
        return f"{op} ({p['reduction']})"
    return op


def input_port_count(node: NodeData) -> int:
    """Ports drawn on the left: one per input, plus a free one for add/concat."""
    cls = OPS.get(str(node.op))
    count = len(node.inputs)
    if cls is None:
        return max(count, 1)
    if cls.max_inputs is None:
        return max(cls.min_inputs, count + 1)
    return max(min(cls.max_inputs, max(count, cls.min_inputs)), count)


def missing_inputs(node: NodeData) -> int:
    """How many more wires the node needs before its op can run."""
    cls = OPS.get(str(node.op))
    return max(0, cls.min_inputs - len(node.inputs)) if cls is not None else 0


def has_output_port(node: NodeData) -> bool:
    return family(node.op) != "loss"
