"""Presentation mode (F11): larger text (widgets, canvas, formula, tensors), the
step bar in sight, high contrast, the graph fitted; space and arrows step, Esc leaves."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.scene.colours import line_width, step_mark  # noqa: E402
from bpviz.scene.fonts import canvas_font  # noqa: E402
from bpviz.scene.theme import CONTRAST, DARK, LIGHT, current_theme, theme_manager  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, fitted_and_stepped  # noqa: E402


def title_height(window) -> float:
    item = next(iter(window.view.graph_scene.nodes.values()))
    return item.rect().height()


def test_presentation_enlarges_text_keeps_the_step_bar_and_leaves_with_esc(qtbot):
    window, _answers = fitted_and_stepped(qtbot, EXAMPLES / "tiny_cnn.json", 2)
    formula = window.stepping.formula.text.font().pointSizeF()
    tensors = window.stepping.tensors.font().pointSizeF()
    app_font, canvas = QApplication.font().pointSizeF(), canvas_font().pointSizeF()
    node_height, theme = title_height(window), current_theme()
    window.view.zoom_in()
    window.actions_["presentation"].trigger()
    settle()
    assert window.stepping.bar.isVisible() and window.stepping.bar.label.isVisible()
    assert window.stepping.bar.label.text().startswith("phase: forward · step 2")
    assert window.menuBar().isHidden() and window.docks[0].isHidden()
    assert QApplication.font().pointSizeF() > app_font
    assert canvas_font().pointSizeF() > canvas and title_height(window) > node_height
    assert window.stepping.formula.text.font().pointSizeF() > formula
    assert window.stepping.tensors.font().pointSizeF() > tensors
    assert current_theme() is CONTRAST
    assert window.view.fitted
    seen = window.view.visible_scene_rect()
    assert all(seen.contains(item.sceneBoundingRect())
               for item in window.view.graph_scene.nodes.values())
    assert window.view.graph_scene.nodes["c1"].step_role == "active"  # the step is redrawn
    for key, position in ((Qt.Key.Key_Space, 2), (Qt.Key.Key_Right, 3), (Qt.Key.Key_Left, 2),
                          (Qt.Key.Key_Down, 3), (Qt.Key.Key_Up, 2)):
        qtbot.keyClick(window.view, key)
        assert window.stepping.session.position == position, key
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    settle()
    assert not window.menuBar().isHidden() and not window.docks[0].isHidden()
    assert QApplication.font().pointSizeF() == app_font
    assert canvas_font().pointSizeF() == canvas and title_height(window) == node_height
    assert window.stepping.formula.text.font().pointSizeF() == formula
    assert current_theme() is theme
    qtbot.keyClick(window.view, Qt.Key.Key_Right)
    assert window.stepping.session.position == 2  # arrows step only while presenting


def test_the_tensor_maps_survive_a_theme_switch_while_hidden(qtbot):
    """Presenting switches the theme while the Tensors panel may show bars (the maps'
    items are dropped, not redrawn) and resizes the window; a step back to feature
    maps shows them resized."""
    window, _answers = fitted_and_stepped(qtbot, EXAMPLES / "digits_cnn.json", 10)
    tensors = window.stepping.tensors
    assert window.stepping.session.current.node == "flat"
    assert tensors.plots.currentWidget() is tensors.bars
    theme_manager().use(CONTRAST)
    try:
        window.resize(window.width() - 120, window.height() - 80)
        settle()
        window.stepping.bar.step_back()  # pool2: feature maps
        settle()
        grid = tensors.grid
        assert tensors.plots.currentWidget() is grid
        assert grid.images and all(image.image is not None for image in grid.images)
    finally:
        theme_manager().use(LIGHT)


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_presenting_the_step_bar_is_large_and_says_every_step_whole(qtbot, size):
    window, _answers = fitted_and_stepped(qtbot, EXAMPLES / "digits_cnn.json", 1)
    bar = window.stepping.bar
    normal = bar.label.font().pointSizeF()
    window.actions_["presentation"].trigger()
    settle()
    window.showNormal()  # NOTE: the test's screen is 800×800: the projector's size instead
    window.resize(*size)
    settle()
    assert window.size().toTuple() == size
    assert bar.label.font().pointSizeF() >= 1.5 * normal
    assert bar.iconSize().height() >= 40
    for hidden in (bar.batch, bar.seed, bar.weights, bar.speed):
        assert not hidden.isVisible()
    session = bar.session
    while not session.at_end:
        bar.step()
        settle()
        assert not bar.label.is_elided(), (size, bar.label.width(), bar.label.shown_lines())
        assert bar.label.shown_lines() == [bar.label.text()]  # one line, whole
    assert window.stepping.session.current.phase == "update"
    qtbot.keyClick(window.view, Qt.Key.Key_Escape)
    settle()
    assert bar.label.font().pointSizeF() == normal and bar.batch.isVisible()


def test_the_contrast_theme_is_white_on_black_with_thick_lines_and_a_yellow_step():
    background, text = (QColor(CONTRAST.canvas[key]) for key in ("background", "node_text"))
    assert background.lightnessF() < 0.1 and text.lightnessF() > 0.9
    assert QColor(CONTRAST.canvas["wire"]).lightnessF() > 0.9
    assert QColor(CONTRAST.window).lightnessF() < 0.1 and QColor(CONTRAST.text).lightnessF() > 0.9
    active = QColor(CONTRAST.canvas["active"])
    assert 45 <= active.hue() <= 62 and active.saturationF() > 0.9  # yellow
    assert CONTRAST.line_scale >= 1.5
    for other in (LIGHT, DARK):
        assert other.canvas != CONTRAST.canvas and "active" not in other.canvas
    theme_manager().use(CONTRAST)
    try:
        assert step_mark("forward") == active == step_mark("backward")
        assert line_width(2.0) >= 3.0
    finally:
        theme_manager().use(LIGHT)
    assert step_mark("forward") != step_mark("backward") and line_width(2.0) == 2.0
