"""The project's own promises: CI runs the README's command; the core stays headless;
imports point down the layers (the import-linter contracts in pyproject.toml)."""

from __future__ import annotations

import ast
import os
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


def test_ci_fails_on_any_skip():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    before_the_tests = ci_lines[:ci_lines.index(readme_commands()[1])]
    assert "export BPVIZ_REQUIRE_ALL_TESTS=1" in before_the_tests


def test_a_skip_becomes_a_failure_when_every_test_must_run():
    # pdflatex hidden from the PATH: the TeX test skips, or fails when all must run
    tex_test = "tests/export/test_tikz.py::test_awkward_names_compile"
    without_tex = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    without_tex.pop("BPVIZ_REQUIRE_ALL_TESTS", None)
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", tex_test]
    skipped = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=without_tex)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    assert "texlive-latex-base" in skipped.stdout  # says which package unlocks it
    required = {**without_tex, "BPVIZ_REQUIRE_ALL_TESTS": "1"}
    failed = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=required)
    assert failed.returncode == 1, failed.stdout
    assert "skipped, but BPVIZ_REQUIRE_ALL_TESTS is set: " in failed.stdout


def test_start_up_imports_neither_qt_nor_torch():
    """The contracts allow the commands to import the window and torch inside functions;
    starting bpviz and building its parser must not run those imports."""
    code = ("import sys, bpviz.engine, bpviz.graph, bpviz.graph.batch, bpviz.graph.weights, "
            "bpviz.engine.receptive, bpviz.cli, bpviz.main; bpviz.main.build_parser(); "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'torch', 'shiboken6')); print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout}"


def test_the_import_contracts_hold():
    """pyproject.toml's [tool.importlinter]: the layers, a headless engine and graph, torch
    only in the oracle, no cycles inside a package."""
    code = ("import sys; from importlinter.cli import lint_imports; "
            "sys.exit(lint_imports(no_cache=True, no_logo=True))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


# What the graph picture may take from QtWidgets: the graphics-scene family and
# the QApplication (whose palette follows the theme); no widgets or windows.
# (import-linter sees PySide6 as one package, so this one is checked here.)
SCENE_WIDGETS = re.compile(r"QGraphics\w*|QStyleOptionGraphicsItem|QApplication")


def imported_names(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """(module, names) for every absolute import in `tree`, also those inside functions."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            found.append((node.module or "", [alias.name for alias in node.names]))
    return found


def test_the_scene_has_no_widgets_or_windows():
    offenders = []
    for path in sorted((ROOT / "bpviz" / "scene").rglob("*.py")):
        for module, names in imported_names(ast.parse(path.read_text())):
            if module == "PySide6.QtWidgets":
                offenders += [f"{path.name}: {name}" for name in names
                              if not SCENE_WIDGETS.fullmatch(name)]
                offenders += [f"{path.name}: import PySide6.QtWidgets"] if not names else []
    assert offenders == []
