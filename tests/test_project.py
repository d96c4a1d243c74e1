"""The project's own promises: CI runs the README's command; the core stays headless."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    quick_start = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", quick_start, re.S)


def test_quick_start_has_exactly_two_commands():
    commands = readme_commands()
    assert len(commands) == 2
    assert all("\n" not in command for command in commands)
    assert commands[0].endswith("bpviz")
    assert "pytest" in commands[1] and "ruff check" in commands[1]


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert readme_commands()[1] in ci_lines


def test_engine_and_graph_import_without_qt_or_torch():
    code = ("import sys, bpviz.engine, bpviz.graph, bpviz.graph.batch, bpviz.graph.weights, "
            "bpviz.engine.receptive, bpviz.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'torch', 'shiboken6')); print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout}"
