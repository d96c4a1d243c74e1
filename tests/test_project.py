"""The project's own promises: CI runs the README's command; the core stays headless;
imports point one way (nothing outside the window imports bpviz.ui)."""

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


def test_engine_and_graph_import_without_qt_or_torch():
    code = ("import sys, bpviz.engine, bpviz.graph, bpviz.graph.batch, bpviz.graph.weights, "
            "bpviz.engine.receptive, bpviz.cli; "
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'torch', 'shiboken6')); print(','.join(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == "", f"imported at start-up: {result.stdout}"


# The commands that open the app's window (`bpviz`, `bpviz snapshot`) are the only
# code outside bpviz/ui that may import it, and only inside these functions.
WINDOW_ENTRY_POINTS = {
    "bpviz/cli/__init__.py": {"open_window"},  # runs the app
    "bpviz/cli/snapshot.py": {"render_window"},  # renders the app's MainWindow
}
# What the graph picture may take from QtWidgets: the graphics-scene family and
# the QApplication (whose palette follows the theme); no widgets or windows.
SCENE_WIDGETS = re.compile(r"QGraphics\w*|QStyleOptionGraphicsItem|QApplication")


def imports(tree: ast.AST, path: Path) -> list[tuple[str, list[str], str | None]]:
    """(module, names, top-level function around it or None) for every import in
    `tree`, also those inside functions; relative imports resolved."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    if path.name != "__init__.py":
        package = package.rpartition(".")[0]
    found = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend((alias.name, [], function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                module = child.module or ""
                if child.level:
                    base = package.rsplit(".", child.level - 1)[0] if child.level > 1 else package
                    module = f"{base}.{module}" if module else base
                found.append((module, [alias.name for alias in child.names], function))
            inner = child.name if (function is None and isinstance(
                child, ast.FunctionDef | ast.AsyncFunctionDef)) else function
            visit(child, inner)

    visit(tree, None)
    return found


def imports_ui(module: str, names: list[str]) -> bool:
    return (module == "bpviz.ui" or module.startswith("bpviz.ui.")
            or (module == "bpviz" and "ui" in names))


def test_nothing_outside_the_window_imports_ui():
    offenders = []
    for path in sorted((ROOT / "bpviz").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith("bpviz/ui/"):
            continue
        allowed = WINDOW_ENTRY_POINTS.get(relative, set())
        for module, names, function in imports(ast.parse(path.read_text()), path):
            if imports_ui(module, names) and function not in allowed:
                offenders.append(f"{relative} ({function or 'module level'}): {module}")
    assert offenders == [], "imports point one way: ui → scene/export → graph → engine"


def test_the_scene_has_no_widgets_or_windows():
    offenders = []
    for path in sorted((ROOT / "bpviz" / "scene").rglob("*.py")):
        for module, names, _ in imports(ast.parse(path.read_text()), path):
            if module == "PySide6.QtWidgets":
                offenders += [f"{path.name}: {name}" for name in names
                              if not SCENE_WIDGETS.fullmatch(name)]
                offenders += [f"{path.name}: import PySide6.QtWidgets"] if not names else []
    assert offenders == []
