"""Texts and colours the canvas shows: node titles, parameter counts, what a folded
group's box says (shapes are written by bpviz.engine.shape_text).

Plain functions of the graph data (no Qt objects), so the inspector and
exports can write the same words.
"""

from __future__ import annotations

from bpviz.engine import OPS
from bpviz.engine.shape_text import shape_text, square_text
from bpviz.graph import NodeData
from bpviz.graph.groups import GroupSummary

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


def node_title(node: NodeData) -> str:
    """The op with its key parameters, e.g. "conv2d 8 3×3 d2" or "dense 10", as the
    op declares it (Op.title). Never fails, even on a half-edited file."""
    cls = OPS.get(str(node.op))
    return cls.title(node.params) if cls is not None else str(node.op)


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


def shapes_text(shapes: list) -> str:
    return ", ".join(shape_text(shape) for shape in shapes) or "—"


def group_lines(summary: GroupSummary) -> list[str]:
    """What a folded group's box says under its name: input and output shapes,
    parameters and nodes, the receptive field at its end."""
    field = summary.receptive_field
    return [f"in {shapes_text(summary.in_shapes)}",
            f"out {shapes_text(summary.out_shapes)}",
            f"{summary.params:,} params · {len(summary.members)} nodes",
            f"field {square_text(field.size)}" if field else "field —"]
