"""`bpviz explain`: one entry of one tensor of a pass, as the lecture's sum with its numbers.

KEY is what follows `<node>/` in `bpviz export --to pass.npz`: out, grad_out,
grad_in/<k>, param/<p>, grad/<p>, target. --at is the whole index, the batch
axis first where the tensor has one (e.g. --at 0,2,3,4 for a conv's output;
nothing for a scalar). The output: the formula in the lecture's notation, the
same sum with its terms' labels and numbers (the first few), and the sum;
--json lists every term, --latex writes an align* block for a slide.
"""

from __future__ import annotations

import argparse
import json

from bpviz.cli.common import CliError, add_graph_argument, add_run_options


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "explain", help="one entry of a pass as the lecture's sum, with its numbers",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_graph_argument(parser)
    parser.add_argument("--node", required=True, metavar="ID", help="the node's id")
    parser.add_argument("--tensor", required=True, metavar="KEY",
                        help="out, grad_out, grad_in/<k>, param/<p>, grad/<p> or target")
    parser.add_argument("--at", default="", metavar="I,J,…",
                        help="the entry's index, batch axis first (default: a scalar's)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="every term, machine-readable")
    output.add_argument("--latex", action="store_true", help="an align* block for a slide")
    parser.add_argument("--terms", type=int, metavar="K",
                        help="terms written out before '… and N more' (text: 6, LaTeX: 3)")
    add_run_options(parser)
    parser.set_defaults(run=run)


def parse_index(text: str) -> tuple[int, ...]:
    """'0,2,3,4' → (0, 2, 3, 4); '' → () (a scalar)."""
    cleaned = text.strip().strip("[]()").replace(" ", "")
    if not cleaned:
        return ()
    try:
        return tuple(int(part) for part in cleaned.split(","))
    except ValueError:
        raise CliError(f"--at must be whole numbers separated by commas, e.g. 0,2,3,4; "
                       f"got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from bpviz.cli.export import start_session
    from bpviz.engine.explain import ExplainError, explain_entry
    from bpviz.engine.explain_text import LATEX_SHOWN, SHOWN, explanation_text, latex_block

    at = parse_index(args.at)
    if args.terms is not None and args.terms < 0:
        raise CliError(f"--terms must be 0 or more, got {args.terms}")
    _, session = start_session(args)
    try:
        explanation = explain_entry(session, args.node, args.tensor, at)
    except ExplainError as error:
        raise CliError(str(error)) from None
    except NotImplementedError as error:
        raise CliError(f"node '{args.node}': {error}") from None
    if args.json:
        print(json.dumps(explanation.as_json(), ensure_ascii=False))
    elif args.latex:
        print(latex_block(explanation, LATEX_SHOWN if args.terms is None else args.terms))
    else:
        print(explanation_text(explanation, SHOWN if args.terms is None else args.terms))
    return 0
