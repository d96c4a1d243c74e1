"""The training panel's plots in a narrow dock: each keeps the room its title, legend
and note need, none overlaps another, and the row scrolls sideways."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.ui.training.axes import LogAxis, round_step  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


@pytest.fixture
def tabbed_panel(qtbot):
    """The training panel brought to the front of the formula's tab group (where
    the first pass puts it) in a 1600×1000 window."""
    window, _ = make_window(qtbot, EXAMPLES / "transfer_digits.json")
    window.resize(1600, 1000)
    assert window.stepping.build_now() is None
    dock = window.training_dock
    assert window.tabifiedDockWidgets(dock)
    dock.raise_()
    qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=5000)
    settle()  # the layouts settle
    panel = dock.widget()
    yield panel
    panel.shut_down()


def plots(panel):
    return (panel.loss_plot, panel.accuracy_plot, panel.grad_plot, panel.boundary_plot)


def test_tabbed_beside_the_formula_the_plots_scroll_instead_of_clipping(tabbed_panel):
    panel = tabbed_panel
    print("panel", panel.size().toTuple(),
          "plots", [plot.size().toTuple() for plot in plots(panel)])
    assert panel.width() < 900  # narrower than the four plots need
    for plot in plots(panel):
        view = plot.getPlotItem().vb
        title = plot.getPlotItem().titleLabel.item.boundingRect().width()
        assert title <= view.width(), plot.title_text  # the title is whole
        assert view.sceneBoundingRect().right() <= plot.width(), plot.title_text  # in sight
        assert plot.width() >= plot.minimumWidth()
    assert panel.plot_area.horizontalScrollBar().maximum() > 0
    shown = panel.plot_area.viewport().height()
    assert all(plot.height() <= shown for plot in plots(panel))  # nothing cut off below
    legend = panel.loss_plot.legend
    assert legend.boundingRect().width() <= panel.loss_plot.getPlotItem().vb.width()
    note = panel.boundary_plot.note
    assert note.textItem.textWidth() <= panel.boundary_plot.getPlotItem().vb.width()
    edges = [(plot.x(), plot.x() + plot.width()) for plot in plots(panel)]
    assert all(right <= left for (_, right), (left, _) in zip(edges, edges[1:]))


def test_wide_the_plots_fill_the_panel_without_a_scroll_bar(qtbot, make_panel):
    panel = make_panel()
    panel.resize(1600, 330)
    settle()
    assert panel.plot_area.horizontalScrollBar().maximum() == 0
    assert panel.plots.width() == panel.plot_area.viewport().width()
    assert panel.loss_plot.legend.columnCount == 3  # one row


def test_a_short_log_axis_labels_only_1_2_and_5_times_powers_of_ten(qtbot):
    axis = LogAxis("left")
    axis.setLogMode(y=True)
    axis.setGeometry(0, 0, 60, 80)
    values = [-0.6989700043360187, -0.5228787452803376, -0.3979400086720376,
              -0.3010299956639812, -0.2218487496163564, -0.1549019599857432,
              -0.09691001300805639, -0.045757490560675115]  # 0.2 … 0.9
    strings = axis.tickStrings(values, 1.0, 1.0)
    assert [s for s in strings if s] == ["0.2", "0.5"]
    axis.setGeometry(0, 0, 60, 800)
    assert all(axis.tickStrings(values, 1.0, 1.0))
    assert round_step(1.0) and round_step(-0.3010299956639812) and not round_step(0.5)
