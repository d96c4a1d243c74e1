"""`bpviz check`: run a graph in the engine and in torch, and compare node by node."""

from __future__ import annotations

import argparse
import json

from bpviz.cli.common import add_graph_argument, add_run_options, prepare_run


def add_parser(commands) -> None:
    parser = commands.add_parser("check", help="compare the engine with torch autograd",
                                 description=__doc__)
    add_graph_argument(parser)
    add_run_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(run=run)


def format_error(value: float | None) -> str:
    return "—" if value is None else f"{value:.2e}"


def format_table(comparison) -> str:
    rows = [("node", "op", "forward", "∂L/∂out", "∂L/∂params", "")]
    for node in comparison.nodes:
        rows.append((node.id, node.op, format_error(node.forward_err),
                     format_error(node.grad_err), format_error(node.param_grad_err),
                     "ok" if node.ok else "MISMATCH"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    verdict = "engine and torch agree" if comparison.ok else "engine and torch DISAGREE"
    lines.append(f"{verdict} ({comparison.dtype}, largest absolute errors shown; "
                 f"loss {comparison.loss_engine:.10g} vs {comparison.loss_torch:.10g})")
    if comparison.aligned:
        where = ", ".join(f"{node} ({count})" for node, count in comparison.aligned.items())
        total = sum(comparison.aligned.values())
        lines.append(f"aligned {total} {'entry' if total == 1 else 'entries'} at a kink, "
                     f"compared on the engine's side: {where} (inputs within rounding of a "
                     f"ReLU's 0 or of a max-pool tie, which the engine and torch rounded "
                     f"to opposite sides)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    _, network, feeds, targets = prepare_run(args, path="check")
    from bpviz.oracle.compare import compare_network  # torch is imported only here

    comparison = compare_network(network, feeds, targets)
    if args.json:
        print(json.dumps({"ok": comparison.ok, "nodes": [
            {"id": n.id, "op": n.op, "forward_err": n.forward_err, "grad_err": n.grad_err,
             "param_grad_err": n.param_grad_err, "ok": n.ok} for n in comparison.nodes],
            "aligned": comparison.aligned}))
    else:
        print(format_table(comparison))
    return 0 if comparison.ok else 1
