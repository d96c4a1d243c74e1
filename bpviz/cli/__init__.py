"""The `bpviz` command: the app, and headless commands for checking and inspecting graphs.

Exit codes: 0 success, 1 a check found a mismatch, 2 an invalid graph or bad
arguments (a message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import os
import sys

from bpviz import __version__
from bpviz.cli.common import CliError, expected_errors


def build_parser() -> argparse.ArgumentParser:
    from bpviz.cli import bench, check, explain, export, info, interop, snapshot, train

    # Each command module has add_parser(commands); the order is the help's order.
    command_modules = (check, info, bench, snapshot, interop, train, export, explain)

    parser = argparse.ArgumentParser(prog="bpviz", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"bpviz {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in command_modules:
        module.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (len(argv) == 1 and argv[0].endswith(".json")):
        return open_window(argv[0] if argv else None)
    parser = build_parser()
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


def open_window(path: str | None) -> int:
    """`bpviz` alone opens the app on the bundled example; `bpviz FILE.json` on that file."""
    if path is not None and not os.path.isfile(path):
        return fail(f"graph file {path} does not exist")
    try:
        from bpviz.ui.app import run_app  # Qt is loaded for the window only
    except ImportError as error:
        return fail(f"the window needs PySide6, which failed to load: {error}")
    return run_app(path)


def fail(message: str, code: int = 2) -> int:
    print(f"bpviz: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
