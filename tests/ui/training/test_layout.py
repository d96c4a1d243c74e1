"""The training panel's plots: each keeps the room its title, legend and axes need,
none overlaps another; they are laid out by the room the panel has, and starting a
run gives the panel room (even where a saved layout left it small)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from bpviz.ui.training.axes import LogAxis, round_step  # noqa: E402
from bpviz.ui.training.plot_board import GAP  # noqa: E402
from bpviz.ui.training.plot_fit import MIN_HEIGHT  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


def plots(panel):
    return (panel.loss_plot, panel.accuracy_plot, panel.grad_plot, panel.boundary_plot)


def shown_whole(panel) -> list:
    """The plots in sight, after checking that each is whole (its visible region is
    all of it), at least its minimum size, inside the board, and that none overlaps
    another."""
    board = panel.board
    shown = [plot for plot in plots(panel) if plot.isVisible()]
    for plot in shown:
        drawn = plot.viewport()  # NOTE: a view's own region leaves out its viewport
        assert drawn.visibleRegion().boundingRect() == drawn.rect(), plot.title_text
        assert drawn.size() == plot.size(), plot.title_text
        assert plot.width() >= plot.minimumWidth() >= 200, plot.title_text
        assert plot.height() >= MIN_HEIGHT, plot.title_text
        assert board.rect().contains(plot.geometry()), plot.title_text
        view = plot.getPlotItem().vb
        assert view.sceneBoundingRect().right() <= plot.width(), plot.title_text
        title = plot.getPlotItem().titleLabel.item.boundingRect().width()
        assert title <= view.width(), plot.title_text
    for index, plot in enumerate(shown):
        for other in shown[index + 1:]:
            assert not plot.geometry().intersects(other.geometry()), (plot.title_text,
                                                                      other.title_text)
    return shown


def every_page_whole(panel) -> set:
    """Look at each page of the board (its tabs, if it has them): the plots seen."""
    seen = set()
    tabs = panel.board.tabs
    for page in range(max(tabs.count(), 1)):
        if tabs.count():
            tabs.setCurrentIndex(page)
        settle()
        seen.update(plot.title_text for plot in shown_whole(panel))
    return seen


@pytest.mark.parametrize("size, together", [((1024, 640), 2), ((1920, 1080), 4)])
def test_starting_training_after_a_pass_gives_the_plots_room_even_from_a_cramped_layout(
        qtbot, size, together):
    """The first pass tabs the panel behind the formula, and a saved layout may have
    made it small: Train brings it to the front with room for its plots."""
    cramped, _ = make_window(qtbot, EXAMPLES / "digits_cnn.json")
    cramped.resize(*size)
    assert cramped.stepping.build_now() is None
    settle()
    cramped.resizeDocks([cramped.training_dock], [230], Qt.Orientation.Horizontal)
    cramped.resizeDocks([cramped.training_dock], [150], Qt.Orientation.Vertical)
    settle()
    cramped.close()  # the layout is saved
    window, _ = make_window(qtbot, EXAMPLES / "digits_cnn.json")
    assert window.layout_restored
    window.resize(*size)
    settle()
    assert window.stepping.build_now() is None
    settle()
    dock, panel = window.training_dock, window.training_dock.widget()
    assert dock.visibleRegion().isEmpty()  # behind the formula's tab
    try:
        window.actions_["train"].trigger()
        qtbot.waitUntil(lambda: not dock.visibleRegion().isEmpty(), timeout=5000)
        settle()
        print(size, "panel", panel.size().toTuple(), panel.board.arrangement.name,
              [plot.size().toTuple() for plot in plots(panel)])
        assert len(shown_whole(panel)) >= together
        assert every_page_whole(panel) == {plot.title_text for plot in plots(panel)}
        assert window.size().toTuple() == size  # the window did not grow past the screen
    finally:
        panel.shut_down()


@pytest.mark.parametrize("size, arrangement", [((1300, 330), "row"), ((800, 600), "grid"),
                                               ((800, 330), "pairs"), ((360, 480), "single")])
def test_the_plots_are_laid_out_by_the_room_they_have(qtbot, make_panel, size, arrangement):
    panel = make_panel()
    panel.resize(*size)
    settle()
    assert panel.board.arrangement.name == arrangement
    assert every_page_whole(panel) == {plot.title_text for plot in plots(panel)}
    minimum = panel.minimumSizeHint()
    assert minimum.width() <= 360 and panel.board.minimumSizeHint().height() > MIN_HEIGHT


def test_wide_the_plots_fill_the_panel_in_one_row(qtbot, make_panel):
    panel = make_panel()
    panel.resize(1600, 330)
    settle()
    assert panel.board.arrangement.name == "row" and not panel.board.tabs.isVisible()
    assert sum(plot.width() for plot in plots(panel)) + 3 * GAP == panel.board.width()
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
