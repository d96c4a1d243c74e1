"""`bpviz info`: shapes, parameter counts and receptive fields of every node."""

from __future__ import annotations

import argparse
import json

from bpviz.cli.common import add_graph_argument, load_document, unbuilt_network
from bpviz.engine.receptive import receptive_fields
from bpviz.engine.shape_text import pair_text, shape_text, square_text


def add_parser(commands) -> None:
    parser = commands.add_parser("info", help="shapes, parameters and receptive fields",
                                 description=__doc__)
    add_graph_argument(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def graph_info(document) -> dict:
    """The figures `bpviz info` prints, as plain data."""
    from bpviz.graph import validate

    report = validate(document)
    fields = receptive_fields(unbuilt_network(document).order)
    nodes = []
    for node_id in document.topological_ids():
        field = fields[node_id]
        nodes.append({"id": node_id, "op": document.nodes[node_id].op,
                      "output_shape": list(report.shapes[node_id]),
                      "params": report.param_counts[node_id],
                      "receptive_field": field.as_dict() if field else None})
    return {"total_params": sum(n["params"] for n in nodes), "nodes": nodes}


def format_table(info: dict) -> str:
    rows = [("node", "op", "output", "params", "receptive field")]
    for node in info["nodes"]:
        field = node["receptive_field"]
        text = "—" if field is None else (
            f"{square_text(field['size'])} stride {pair_text(field['stride'])}"
            f" pad {pair_text(field['padding'])}")
        rows.append((node["id"], node["op"], shape_text(node["output_shape"]),
                     f"{node['params']:,}", text))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) if i != 3 else cell.rjust(w)
                       for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
             for row in rows]
    lines.append(f"total parameters: {info['total_params']:,}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    info = graph_info(load_document(args.graph))
    print(json.dumps(info) if args.json else format_table(info))
    return 0
