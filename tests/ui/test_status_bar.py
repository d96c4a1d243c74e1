"""The status bar: a passing message never runs into the graph's size or error on the
right, and an error the right shows already is not repeated on the left."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor  # noqa: E402

from bpviz.scene.theme import current_theme  # noqa: E402
from tests.ui.windowkit import make_window  # noqa: E402


def ink_columns(image, top: int, bottom: int) -> list[int]:
    """The x of every column with a pixel unlike the bar's background."""
    background = image.pixelColor(1, image.height() // 2)
    return [x for x in range(image.width())
            if any(abs(image.pixelColor(x, y).lightness() - background.lightness()) > 40
                   for y in range(top, bottom))]


@pytest.fixture
def small(qtbot):
    win, _answers = make_window(qtbot)
    win.resize(1024, 640)
    qtbot.wait(50)
    return win


def test_a_long_message_stops_before_the_graph_size(qtbot, small):
    bar = small.statusBar()
    bar.showMessage("a long status tip " * 20)
    qtbot.wait(50)
    image = bar.grab().toImage()
    label_x = small.graph_status.mapTo(bar, small.graph_status.rect().topLeft()).x()
    ink = ink_columns(image, 2, image.height() - 2)
    message_ink = [x for x in ink if x < label_x]
    assert message_ink and max(message_ink) < label_x - 8  # a visible gap before the label
    assert bar.toolTip().startswith("a long status tip")  # the whole message on hover


def test_an_error_is_shown_once_in_red_and_fits_a_small_window(qtbot, small):
    small.view.connect_ports("out", "loss", 0)  # bce straight after a dense layer
    error = small.editor.report.errors["loss"]
    bar = small.statusBar()
    assert error not in bar.currentMessage()
    assert error in small.graph_status.text()
    label = small.graph_status
    assert 0 < label.x() and label.x() + label.width() <= bar.width()  # within the bar
    bar.showMessage("connected")
    qtbot.wait(50)
    assert label.width() <= bar.width() // 2 + 1  # room for the message beside it
    assert error in small.graph_status.toolTip()
    image = small.graph_status.grab().toImage()
    red = QColor(current_theme().error)
    assert any(image.pixelColor(x, y) == red
               for x in range(image.width()) for y in range(image.height()))
