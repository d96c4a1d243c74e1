"""`bpviz export --deck`: its options, their checks and the deck's exporter.

The deck formats and what a slide holds: bpviz.export.deck (and deck_pptx,
deck_beamer, deck_pdf). Bad options (an empty --steps range, an unknown
--phase, an --explain that names nothing) are CliErrors: exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bpviz.cli.common import CliError

PHASES = ("forward", "backward", "update")


def add_deck_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--deck", action="store_true",
                        help="--to talk.pptx|tex|pdf: a slide deck of the pass (see above)")
    parser.add_argument("--steps", metavar="A-B",
                        help="the deck's steps, e.g. 5-12 (counted over the whole pass)")
    parser.add_argument("--phase", metavar="{forward,backward,update}",
                        help="only the steps of this phase in the deck")
    parser.add_argument("--explain", action="append", metavar="NODE:KEY:I,J,…",
                        help="put this entry's explanation on its step's slide "
                             "(e.g. fc:grad/weight:3,5; repeatable)")
    parser.add_argument("--overlays", action="store_true",
                        help="--deck --to X.tex: one frame with \\only<n> overlays")


def check_deck(args: argparse.Namespace, kind: str) -> None:
    """The deck's own options, before the pass runs."""
    if kind != "deck":
        return
    from bpviz.export.deck import DeckError, parse_explain, parse_steps

    if args.phase is not None and args.phase not in PHASES:
        raise CliError(f"--phase must be one of {', '.join(PHASES)}, got {args.phase!r}")
    if args.overlays and Path(args.to).suffix.lower() != ".tex":
        raise CliError("--overlays is for a Beamer deck: --to X.tex")
    try:
        if args.steps is not None:
            parse_steps(args.steps)
        for text in args.explain or []:
            parse_explain(text)
    except DeckError as error:
        raise CliError(str(error)) from None


def deck_exporter(args: argparse.Namespace, document, session, layout: str):
    from bpviz.export.deck import DeckError, parse_explain, parse_steps, plan_deck

    try:
        deck = plan_deck(document, session,
                         parse_steps(args.steps) if args.steps is not None else None,
                         args.phase, [parse_explain(text) for text in args.explain or []])
    except DeckError as error:
        raise CliError(str(error)) from None
    theme = args.theme or "light"
    ending = Path(args.to).suffix.lower()
    if ending == ".pptx":
        from bpviz.export.deck_pptx import DeckPptxExporter

        return DeckPptxExporter(deck, theme=theme, layout=layout)
    if ending == ".tex":
        from bpviz.export.deck_beamer import DeckBeamerExporter

        return DeckBeamerExporter(deck, theme=theme, layout=layout, overlays=args.overlays)
    from bpviz.export.deck_pdf import DeckPdfExporter

    return DeckPdfExporter(deck, theme=theme, layout=layout)
