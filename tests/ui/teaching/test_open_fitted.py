"""Graphs open fitted to the view, and stay fitted on resize until the user zooms."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


def every_node_in_sight(window) -> bool:
    seen = window.view.visible_scene_rect()
    return all(seen.contains(item.sceneBoundingRect())
               for item in window.view.graph_scene.nodes.values())


@pytest.mark.parametrize("name", ["digits_cnn", "deep_residual_20", "densenet_block"])
def test_an_example_opens_with_every_node_in_sight(qtbot, name):
    window, _answers = make_window(qtbot, path=None)
    assert window.open_file(str(EXAMPLES / f"{name}.json"))
    settle()
    assert every_node_in_sight(window)


def test_the_fit_holds_on_resize_until_the_user_zooms(qtbot):
    window, _answers = make_window(qtbot, EXAMPLES / "digits_cnn.json")
    settle()
    window.resize(1024, 640)
    settle()
    assert every_node_in_sight(window)
    window.resize(1500, 900)
    settle()
    assert every_node_in_sight(window)
    fitted = window.view.zoom_level()
    window.actions_["zoom_in"].trigger()
    window.actions_["zoom_in"].trigger()
    zoomed = window.view.zoom_level()
    assert zoomed > fitted
    window.resize(1100, 700)
    settle()
    assert window.view.zoom_level() == pytest.approx(zoomed)
