"""The Tensors panel's tabs fit a small window: short titles there, full ones where
they fit, the full title always the tab's tooltip."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.ui.stepping.tab_titles import short_title  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.stepping.test_entry_window import window_at  # noqa: E402


def tab_titles(tabs) -> tuple[list[str], list[str]]:
    return ([tabs.tabText(i) for i in range(tabs.count())],
            [tabs.tabToolTip(i) for i in range(tabs.count())])


def test_short_titles_drop_what_the_tabs_share():
    assert [short_title(t) for t in ("∂L/∂Z", "out Z", "in U", "W", "∂L/∂b", "ΔW")] == [
        "∂Z", "Z", "U", "W", "∂b", "ΔW"]


def test_five_tabs_fit_a_small_window_without_scrolling(qtbot):
    window = window_at(qtbot, "backward", "conv2")
    tensors = window.stepping.tensors
    full = [entry.label for entry in tensors.entries]
    assert len(full) >= 5 and "∂L/∂W" in full
    assert tab_titles(tensors.tabs) == (full, full)  # a wide window: in full
    window.resize(1024, 640)
    settle()
    tabs = tensors.tabs
    assert tab_titles(tabs) == ([short_title(t) for t in full], full)
    tabs.setCurrentIndex(0)
    settle()
    assert tabs.tabRect(4).right() <= tabs.width()  # five tabs in sight, no scrolling
    window.resize(1600, 1000)
    settle()
    assert tab_titles(tabs) == (full, full)
