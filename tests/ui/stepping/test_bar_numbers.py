"""A bar's number stays inside the plot: the lowest bar's sits above the x-axis ticks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from bpviz.ui.stepping.bars import BarChart  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402


@pytest.mark.parametrize("height", [170, 260])
def test_the_numbers_of_the_tallest_bars_stay_inside_the_plot(qtbot, height):
    chart = BarChart()  # NOTE: not qtbot.addWidget: pyqtgraph's close() crashes there
    chart.resize(600, height)
    chart.show()
    qtbot.waitExposed(chart)
    values = np.array([0.0, 0.2138, 0.01, 0.0, 0.0, -0.244, 0.005, 0.004, 0.003, 0.006])
    chart.show_bars(values, diverging=True)
    settle()
    chart.show_bars(values, diverging=True)  # again, now that the plot has its size
    settle()
    inside = chart._plot.getViewBox().sceneBoundingRect()
    for index in (1, 5):
        label = chart.bar_numbers[index]
        rect = label.mapRectToScene(label.boundingRect())
        assert label.textItem.toPlainText()
        assert inside.top() - 1 <= rect.top() and rect.bottom() <= inside.bottom() + 1, index
    chart.hide()
    chart.deleteLater()
