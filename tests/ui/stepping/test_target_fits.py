"""The loss step's "y beside ŷ" fits a narrow panel: all ten classes are drawn inside it."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF  # noqa: E402

from bpviz.ui.stepping.data_views import TargetView  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402


@pytest.mark.parametrize("width", [400, 900])
def test_ten_classes_fit_inside_a_narrow_view(qtbot, width):
    view = TargetView()  # NOTE: not qtbot.addWidget: pyqtgraph's close() crashes there
    view.resize(width, 180)
    view.show()
    qtbot.waitExposed(view)
    logits = np.random.default_rng(0).normal(size=(4, 10))
    view.show_pair("softmax_cross_entropy", logits, np.array([5, 1, 2, 3]), 0)
    settle()
    box = view.plot.getViewBox()
    right = view.mapFromScene(box.mapViewToScene(QPointF(box.viewRange()[0][1], 0))).x()
    nine = view.mapFromScene(box.mapViewToScene(QPointF(9.35, 0))).x()  # the last bar's right
    assert nine <= right <= view.width()
    assert view.plot.titleLabel.text and view.text.startswith("sample 0")
    view.hide()
    view.deleteLater()
