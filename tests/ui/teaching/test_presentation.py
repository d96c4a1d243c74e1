"""Presentation mode (F11): larger text (widgets, canvas, formula, tensors), the
step bar in sight, high contrast, the graph fitted; space and arrows step, Esc leaves."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bpviz.scene.fonts import canvas_font  # noqa: E402
from bpviz.scene.theme import CONTRAST, current_theme  # noqa: E402
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
