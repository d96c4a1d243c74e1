"""An example goes by one name (its file's stem) in File › Examples, README and
the window title, and its title (the graph's name) is the same in all three."""

from __future__ import annotations

import json
import re

import pytest

pytest.importorskip("PySide6")

from tests.ui.windowkit import EXAMPLES, ROOT, make_window  # noqa: E402


def readme_examples() -> dict[str, str]:
    """`stem` → title, from README's table of examples."""
    text = (ROOT / "README.md").read_text("utf-8")
    return dict(re.findall(r"^\| `([a-z0-9_]+)` \| (.+?) \|$", text, flags=re.M))


def test_menu_readme_and_title_name_every_example_alike(qtbot):
    window, _answers = make_window(qtbot, path=None)
    menu = [act.text() for act in window.examples_menu.actions()]
    readme = readme_examples()
    files = sorted(EXAMPLES.glob("*.json"))
    assert len(menu) == len(files)
    for path, label in zip(files, menu, strict=True):
        stem, title = path.stem, json.loads(path.read_text("utf-8"))["name"]
        assert label.split(" — ")[0] == stem, label
        assert title in label
        assert readme.get(stem) == title, stem
        assert window.open_file(str(path))
        assert f"{stem} (example)" in window.windowTitle()
        assert title in window.windowTitle()
