"""The formula panel's line about the full Jacobian is true whether or not the table
below it is shown: backprop never builds it; the button builds it to look at."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.ui.stepping import FormulaPanel  # noqa: E402
from tests.engine.stepping_graphs import example_session  # noqa: E402


def test_the_jacobian_line_says_when_the_table_below_was_built(qtbot):
    session = example_session("two_layer_classifier")
    session.seek(next(i for i, s in enumerate(session.steps)
                      if s.node == "loss" and s.phase == "backward"))
    panel = FormulaPanel()
    qtbot.addWidget(panel)
    panel.set_step(session.current, session.network)
    hidden = panel.plain_text()
    assert "the backward pass never builds it" in hidden and "built below" not in hidden
    panel.jacobian_button.click()
    shown = panel.plain_text()
    assert "Full Jacobian, sample 0" in shown
    assert "never builds it (built below for this one sample, to look at)" in shown
    panel.jacobian_button.click()
    assert "built below" not in panel.plain_text()
