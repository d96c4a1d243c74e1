"""The step bar in a 1024×640 window: every step of the digits CNN's pass, update
steps included, is said whole (on two lines where one is too narrow), and the bar's
other widgets stay in sight."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.ui.stepping.step_bar import describe_position  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


@pytest.mark.parametrize("size, lines", [((1024, 640), 2), ((1920, 1080), 1)])
def test_every_step_is_said_whole_in_a_small_window(qtbot, size, lines):
    window, _ = make_window(qtbot, EXAMPLES / "digits_cnn.json")
    window.resize(*size)
    window.stepping.synchronous = True
    window.stepping.request("step")
    settle()
    bar = window.stepping.bar
    session = bar.session
    assert bar.label.line_count() == lines
    said = set()
    while True:
        settle()
        text = bar.label.text()
        assert text == describe_position(session)
        assert not bar.label.is_elided(), (text, bar.label.shown_lines())
        assert " ".join(bar.label.shown_lines()).split() == text.split()
        said.add(session.current.phase)
        if session.at_end:
            break
        bar.step()
    assert said == {"forward", "backward", "update"}
    assert bar.geometry().right() <= window.width()
    for widget in (bar.weights, bar.widgetForAction(bar.verify_action), bar.batch, bar.seed):
        assert widget.isVisible() and not widget.visibleRegion().isEmpty()
        assert widget.mapTo(window, widget.rect().bottomRight()).x() <= window.width()
    assert bar.weights.height() >= bar.weights.heightForWidth(bar.weights.width()) or \
        not bar.weights.wordWrap()
