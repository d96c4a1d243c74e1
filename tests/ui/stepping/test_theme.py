"""The step-through panels follow the app's theme (pyqtgraph paints its own backgrounds)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.scene.theme import DARK, LIGHT, theme_manager  # noqa: E402
from bpviz.ui.stepping import FormulaPanel, ReceptiveFieldView, TensorView  # noqa: E402
from tests.export.helpers import TINY, session_for  # noqa: E402


@pytest.fixture
def dark():
    manager = theme_manager()
    manager.set_theme("light")
    yield lambda: manager.set_theme("dark")
    manager.set_theme("light")


def background(widget) -> str:
    if hasattr(widget, "backgroundBrush"):
        return widget.backgroundBrush().color().name()
    return widget.grab().toImage().pixelColor(1, 1).name()  # painted by the widget


def test_dark_theme_darkens_the_tensor_view(qtbot, dark):
    *_, session = session_for(TINY)
    session.seek(1)
    view = TensorView()
    qtbot.addWidget(view)
    view.set_step(session.current, session.network)
    assert background(view.histogram) == background(view.grid) == LIGHT.base
    dark()
    assert background(view.histogram) == background(view.grid) == DARK.base
    assert view.grid.titles and all(DARK.text in title.item.toHtml()
                                    for title in view.grid.titles)
    assert view.histogram.colours.text == DARK.text
    assert view.heatmap_count() > 0  # redrawn, not emptied


def test_dark_theme_darkens_the_receptive_field_and_the_formula(qtbot, dark):
    *_, session = session_for(TINY)
    session.seek(1)
    field, formula = ReceptiveFieldView(), FormulaPanel()
    qtbot.addWidget(field)
    qtbot.addWidget(formula)
    formula.set_step(session.current, session.network)
    assert "#000" not in formula.text.toHtml().replace("#000000", "")
    dark()
    assert background(field.grid) == DARK.base
    assert DARK.text in field.input_title.item.toHtml()
    html = formula.text.toHtml()
    assert DARK.text in html and "color:#000000" not in html.replace(" ", "")
