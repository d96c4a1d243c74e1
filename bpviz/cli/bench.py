"""`bpviz bench`: the engine's speed against torch, forward and backward per batch."""

from __future__ import annotations

import argparse

from bpviz.cli.common import positive_int


def add_parser(commands) -> None:
    parser = commands.add_parser("bench", help="time the engine against torch (CPU, float32)",
                                 description=__doc__)
    add_arguments(parser)
    parser.set_defaults(run=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bpviz bench` and `python -m bpviz.bench`."""
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one warm-up and one timed call per side")
    parser.add_argument("--rounds", type=positive_int, default=None,
                        help="timing rounds per workload (default 5, quick 1)")
    parser.add_argument("--only", metavar="KEYS",
                        help="comma-separated workload keys, e.g. W1,MLP")


def run(args: argparse.Namespace) -> int:
    # Imported here: the benchmark (and torch) load only when it runs.
    from bpviz.bench import main_with

    return main_with(args)
