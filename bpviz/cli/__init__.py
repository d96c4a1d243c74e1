"""The `bpviz` command: the app, and headless commands for checking and inspecting graphs.

This package holds the commands and runs them; bpviz.main, above it and the
window, opens the window and adds the commands that need the window or the
benchmarks. Exit codes: 0 success, 1 a check found a mismatch, 2 an invalid
graph or bad arguments (a message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from bpviz import __version__
from bpviz.cli.common import CliError, expected_errors

AddCommand = Callable[[argparse._SubParsersAction], None]
"""Adds one command to the subparsers and sets its `run(args)` as the default `run`."""


def headless_commands() -> list[AddCommand]:
    """The commands that need neither the window nor the benchmarks, in the help's order."""
    from bpviz.cli import check, explain, export, info, interop, train

    return [check.add_parser, info.add_parser, interop.add_parser, train.add_parser,
            export.add_parser, explain.add_parser]


def build_parser(commands: Sequence[AddCommand] | None = None) -> argparse.ArgumentParser:
    """The parser of `bpviz COMMAND`, with `commands` (default: the headless ones)."""
    parser = argparse.ArgumentParser(prog="bpviz", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"bpviz {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for add_command in headless_commands() if commands is None else commands:
        add_command(subparsers)
    return parser


def main(argv: list[str] | None = None,
         commands: Sequence[AddCommand] | None = None) -> int:
    """Run one command of `argv`; its exit code (bad input: a message, never a traceback)."""
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except CliError as error:
        return fail(str(error))
    except expected_errors() as error:
        return fail(str(error))
    except KeyboardInterrupt:
        return fail("interrupted")
    except Exception as error:  # an internal error: still no traceback for the user
        if os.environ.get("BPVIZ_DEBUG"):
            raise
        return fail(f"internal error ({type(error).__name__}: {error}); "
                    "set BPVIZ_DEBUG=1 for details", code=3)


def fail(message: str, code: int = 2) -> int:
    print(f"bpviz: error: {message}", file=sys.stderr)
    return code
