"""The `bpviz` command: the window, or one of the commands.

`bpviz` and `bpviz GRAPH.json` open the window (bpviz.ui.launch); anything
else goes to the commands of bpviz.cli, with the two that live above them
added here: `bpviz snapshot` (its picture drawn by bpviz.ui.snapshot) and
`bpviz bench` (bpviz.bench.speed). Qt and torch load only when a command
needs them.
"""

from __future__ import annotations

import argparse
import os
import sys
from functools import partial

from bpviz import cli


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (len(argv) == 1 and argv[0].endswith(".json")):
        return open_window(argv[0] if argv else None)
    return cli.main(argv, commands())


def commands() -> list[cli.AddCommand]:
    """Every command, in the help's order."""
    from bpviz.bench import speed
    from bpviz.cli import check, explain, export, info, interop, snapshot, train

    return [check.add_parser, info.add_parser, speed.add_parser,
            partial(snapshot.add_parser, render_window=render_window), interop.add_parser,
            train.add_parser, export.add_parser, explain.add_parser]


def build_parser() -> argparse.ArgumentParser:
    return cli.build_parser(commands())


def open_window(path: str | None) -> int:
    """`bpviz` alone opens the app on the bundled example; `bpviz FILE.json` on that file."""
    if path is not None and not os.path.isfile(path):
        return cli.fail(f"graph file {path} does not exist")
    try:
        from bpviz.ui.launch import run_app  # Qt is loaded for the window only
    except ImportError as error:
        return cli.fail(f"the window needs PySide6, which failed to load: {error}")
    return run_app(path)


def render_window(*args, **kwargs):
    """bpviz.ui.snapshot.render_window, imported when a snapshot is taken."""
    from bpviz.ui.snapshot import render_window as render

    return render(*args, **kwargs)
