"""How the training plots look: ranges, legends, empty states, the boundary's line."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QPainter  # noqa: E402

from tests.ui.training.panelkit import wait_idle  # noqa: E402


def view_rect(plot):
    """The data area in the plot widget's own pixels."""
    vb = plot.getPlotItem().getViewBox()
    return plot.mapFromScene(vb.sceneBoundingRect()).boundingRect()


def test_one_epoch_gives_the_accuracy_axis_the_iterations_run(qtbot, make_panel):
    panel = make_panel(epochs=1)  # moons: 5 iterations
    assert panel.start()
    wait_idle(qtbot, panel)
    assert panel.accuracy_plot.data["val"].x.size == 1
    (x0, x1), (y0, y1) = panel.accuracy_plot.getPlotItem().viewRange()
    assert -1 <= x0 <= 0 and 5 <= x1 <= 6
    assert (y0, y1) == (-4, 104)


def test_the_loss_legend_sits_above_the_curves(make_panel):
    plot = make_panel().loss_plot
    plot.resize(400, 250)
    legend = plot.legend.sceneBoundingRect()
    view = plot.getPlotItem().getViewBox().sceneBoundingRect()
    assert legend.width() > 0 and legend.bottom() <= view.top() + 1
    assert [label.text for _, label in plot.legend.items] == ["batch", "train (epoch)",
                                                              "validation"]


def test_an_empty_gradient_plot_spans_whole_decades(make_panel):
    plot = make_panel().grad_plot
    (_, _), (y0, y1) = plot.getPlotItem().viewRange()
    assert (y0, y1) == (-4, 1)  # 1e-4 … 10, not 2 … 9
    axis = plot.getPlotItem().getAxis("left")
    values = [v for _, level in axis.tickValues(y0, y1, 200) for v in level]
    labels = [text for text in axis.tickStrings(values, 1, 1) if text]
    assert labels and all(text in ("0.0001", "0.001", "0.01", "0.1", "1", "10")
                          for text in labels)


def test_the_boundary_is_a_smooth_line_inside_the_plot(qtbot, make_panel):
    panel = make_panel(epochs=60)
    assert panel.start()
    wait_idle(qtbot, panel)
    plot = panel.boundary_plot
    x, y = plot.line.getData()
    assert len(x) > 20 and len(x) % 2 == 0  # segments, in pairs
    x0, y0, width, height = plot.last.extent
    assert np.all((x >= x0) & (x <= x0 + width) & (y >= y0) & (y <= y0 + height))
    off_grid = (x - x0) / (width / 96) - 0.5
    assert np.any(np.abs(off_grid - np.round(off_grid)) > 0.05)  # not on the grid's steps
    assert plot.renderHints() & QPainter.RenderHint.SmoothPixmapTransform
    assert view_rect(plot).right() <= plot.width() - 6  # a margin: not cut at the edge
