"""The tensor panel's pages of maps fit the dock; its colour bar can be read at any scale."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QImage, QPainter

from bpviz.ui.stepping import TensorView
from bpviz.ui.stepping.heatmaps import HeatmapGrid
from bpviz.ui.stepping.map_layout import MIN_MAP_SIDE
from bpviz.ui.stepping.map_pages import PAGE_SIZE
from tests.engine.stepping_graphs import example_session
from tests.ui.stepping.viewkit import shown_view


@pytest.fixture
def wide():
    return example_session("resnet_blocks", batch=2)


def seek(session, node: str, phase: str = "forward") -> None:
    session.seek(next(i for i, step in enumerate(session.steps)
                      if step.node == node and step.phase == phase))


def map_sides(view: TensorView) -> list[float]:
    """The smaller side, in pixels, of every map in sight."""
    rects = [image.sceneBoundingRect() for image in view.grid.images]
    return [min(rect.width(), rect.height()) for rect in rects]


def assert_page_holds(view: TensorView, values: np.ndarray) -> None:
    channels = view.shown_maps()
    assert view.heatmap_count() == len(channels) > 0
    for image, channel in zip(view.grid.images, channels):
        np.testing.assert_array_equal(image.image, values[channel])


def test_a_small_dock_shows_fewer_maps_each_large_enough_to_read(qtbot, wide):
    view = shown_view(qtbot, 1000, 480)
    seek(wide, "basic_conv1")
    view.set_step(wide.current, wide.network)
    values = wide.current.output[0]
    assert view.shown_maps() == range(0, PAGE_SIZE)
    view.pages.move(1)
    assert view.pages.label.text() == "channels 16–31 of 64"
    view.resize(480, 300)
    qtbot.waitUntil(lambda: 1 <= view.heatmap_count() < PAGE_SIZE)
    count = view.heatmap_count()
    assert view.shown_maps() == range(16, 16 + count)  # the first channel stays in sight
    assert view.pages.label.text() == f"channels 16–{15 + count} of 64"
    assert min(map_sides(view)) >= MIN_MAP_SIDE
    assert_page_holds(view, values)
    view.pages.move(1)
    assert view.shown_maps() == range(16 + count, 16 + 2 * count)
    assert_page_holds(view, values)


def test_a_large_dock_shows_up_to_sixteen_maps(qtbot, wide):
    view = shown_view(qtbot, 420, 260)
    seek(wide, "basic_conv1")
    view.set_step(wide.current, wide.network)
    small = view.heatmap_count()
    assert 1 <= small < 8 and min(map_sides(view)) >= MIN_MAP_SIDE
    assert view.pages.label.text() == f"channels 0–{small - 1} of 64"
    view.resize(1400, 700)
    qtbot.waitUntil(lambda: view.heatmap_count() == PAGE_SIZE)
    assert view.pages.label.text() == "channels 0–15 of 64"
    assert view.grid.titles[0].text == "channel 0"  # room for the full title
    assert_page_holds(view, wide.current.output[0])


def test_small_maps_have_short_titles_and_the_hover_names_the_channel(qtbot, wide):
    view = shown_view(qtbot, 620, 300)  # the dock at its default size
    seek(wide, "basic_conv1")
    view.set_step(wide.current, wide.network)
    assert view.grid.titles[1].text == "c1"
    scene = view.grid.boxes[1].mapViewToScene(pg.Point(5.5, 2.5))  # column 5, row 2
    qtbot.mouseMove(view.grid.viewport(), view.grid.mapFromScene(scene))
    value = wide.current.output[0, 1, 2, 5]
    assert view.status.text() == f"out Z · sample 0 · channel 1 · [i1=2, i2=5] = {value:.6g}"


def test_stepping_after_a_resize_updates_the_maps_in_place(qtbot, wide):
    view = shown_view(qtbot, 520, 300)
    seek(wide, "basic_conv1")
    view.set_step(wide.current, wide.network)
    view.pages.move(1)
    first, images = view.shown_maps(), list(view.grid.images)
    wide.step_forward()  # basic_bn1: 64×8×8 as well
    view.set_step(wide.current, wide.network)
    assert view.shown_maps() == first
    assert all(a is b for a, b in zip(view.grid.images, images))
    assert_page_holds(view, wide.current.output[0])


def colour_bar_labels(grid: HeatmapGrid) -> list[str]:
    """The tick labels the colour bar draws."""
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = grid.colour_bar.axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    return [text for _rect, _flags, text in specs[2]]


def test_the_colour_bar_of_a_tiny_gradient_labels_its_ends(qtbot):
    grid = HeatmapGrid()
    qtbot.addWidget(grid)
    grid.resize(450, 260)
    grid.show()
    qtbot.waitExposed(grid)
    values = np.linspace(-8e-4, 8e-4, 4 * 64).reshape(4, 8, 8)
    grid.show_maps(list(values), [f"channel {c}" for c in range(4)], diverging=True)
    assert colour_bar_labels(grid) == ["-0.0008", "0", "0.0008"]
    grid.show_maps(list(values * 1e-3), [f"channel {c}" for c in range(4)], diverging=True)
    assert colour_bar_labels(grid) == ["-8e-07", "0", "8e-07"]
