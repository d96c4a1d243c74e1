"""The step-through widgets on real steps of the example graphs."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from bpviz.ui.stepping import FormulaPanel, ReceptiveFieldView, StepBar, TensorView
from bpviz.ui.stepping.tensor_view import tensor_entries
from tests.engine.stepping_graphs import example_session
from tests.ui.stepping.viewkit import shown_view


def index_of(session, node: str, phase: str) -> int:
    return next(i for i, s in enumerate(session.steps) if s.node == node and s.phase == phase)


@pytest.fixture
def cnn():
    return example_session("tiny_cnn")


# -- StepBar -----------------------------------------------------------------------
@pytest.fixture
def window(qtbot, cnn):
    main = QMainWindow()
    bar = StepBar(cnn)
    main.addToolBar(bar)
    main.resize(900, 200)
    qtbot.addWidget(main)
    main.show()
    qtbot.waitExposed(main)
    main.activateWindow()
    return main, bar


def test_shortcuts_move_the_session(qtbot, window, cnn):
    main, bar = window
    moves = []
    bar.position_changed.connect(moves.append)
    qtbot.keyClick(main, Qt.Key.Key_F10)
    qtbot.keyClick(main, Qt.Key.Key_F10)
    assert cnn.position == 1 and moves == [0, 1]
    qtbot.keyClick(main, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    assert cnn.position == 0
    qtbot.keyClick(main, Qt.Key.Key_F10)
    qtbot.keyClick(main, Qt.Key.Key_Home)
    assert cnn.position == -1 and moves[-1] == -1
    qtbot.keyClick(main, Qt.Key.Key_F5)
    assert bar.playing
    qtbot.keyClick(main, Qt.Key.Key_F5)
    assert not bar.playing


def test_label_names_phase_step_and_node(window, cnn):
    _, bar = window
    assert bar.label.text().startswith("ready: 14 steps")
    assert not bar.back_action.isEnabled() and bar.step_action.isEnabled()
    bar.seek(index_of(cnn, "c1", "backward"))
    assert bar.label.text().startswith("phase: backward · step 6/7 · node c1 (conv2d)")
    bar.run_to_end_of_phase()
    assert cnn.at_end and not bar.step_action.isEnabled()


def test_play_runs_to_the_end_and_stops(qtbot, window, cnn):
    _, bar = window
    bar.speed.setValue(bar.speed.maximum())
    bar.play()
    qtbot.waitUntil(lambda: cnn.at_end and not bar.playing, timeout=5000)
    bar.play()  # from the end: starts again
    assert cnn.position <= 0 and bar.playing
    bar.pause()


# -- TensorView ----------------------------------------------------------------------
def test_an_eight_channel_map_shows_eight_heatmaps_with_numbers(qtbot, cnn):
    view = shown_view(qtbot)
    cnn.seek(index_of(cnn, "c1", "forward"))
    view.set_step(cnn.current, cnn.network)
    assert view.current_key() == "out" and view.heatmap_count() == 8
    assert len(view.grid.numbers) == 8 and all(len(cells) == 64 for cells in view.grid.numbers)
    first = view.grid.numbers[0][0].text()
    value = cnn.current.output[0, 0, 0, 0]
    assert float(first) == pytest.approx(value, rel=0.06, abs=1e-3)
    assert view.select("grad_out") is False  # forward: no gradient yet
    assert view.select("param:weight")
    assert view.heatmap_count() == 8  # 8 filters of 3×3, one input channel


def test_stepping_with_the_same_shapes_reuses_the_image_items(qtbot, cnn):
    view = TensorView()
    qtbot.addWidget(view)
    cnn.seek(index_of(cnn, "c1", "forward"))
    view.set_step(cnn.current, cnn.network)
    images = list(view.grid.images)
    cnn.step_forward()  # r1: 8×8×8 as well
    view.set_step(cnn.current, cnn.network)
    assert cnn.current.node == "r1" and view.current_key() == "out"
    assert view.grid.images == images and all(a is b for a, b in zip(view.grid.images, images))
    cnn.step_forward()  # p1: 8×4×4, a new layout
    view.set_step(cnn.current, cnn.network)
    assert view.heatmap_count() == 8 and view.grid.images[0] is not images[0]


def test_gradients_are_centred_on_zero_and_vectors_are_bars(qtbot, cnn):
    view = TensorView()
    qtbot.addWidget(view)
    cnn.seek(index_of(cnn, "c1", "backward"))
    view.set_step(cnn.current, cnn.network)
    assert view.current_key() == "grad_out"
    low, high = view.grid.images[0].getLevels()
    grad = cnn.current.grad_output[0]
    assert low == -high == pytest.approx(-abs(grad).max())
    keys = [entry.key for entry in view.entries]
    assert {"grad_in:0", "grad:weight", "grad:bias", "param:weight"} <= set(keys)
    view.select("grad:bias")
    assert view.bars.bars is not None and len(view.bars.bar_numbers) == 8
    assert view.heatmap_count() == 0 and view.plots.currentWidget() is view.bars
    view.set_sample(3)
    cnn.seek(index_of(cnn, "fc", "backward"))
    view.set_step(cnn.current, cnn.network)
    assert view.current_key() == "grad:bias"  # the choice survives the step
    assert view.status.text().startswith("∂L/∂b: 10 · min")


def test_every_gradient_tab_of_a_pass_writes_the_loss_as_L(cnn):
    labels = {entry.label for step in cnn.steps
              for entry in tensor_entries(step, cnn.network) if entry.kind == "gradient"}
    assert {"∂L/∂Z", "∂L/∂W", "∂L/∂U", "∂L/∂z", "∂L/∂u"} <= labels
    assert all(label.startswith("∂L/∂") for label in labels)


def test_hovering_a_cell_shows_its_index_and_value(qtbot, cnn):
    view = shown_view(qtbot)
    cnn.seek(index_of(cnn, "c1", "forward"))
    view.set_step(cnn.current, cnn.network)
    box = view.grid.boxes[3]
    scene = box.mapViewToScene(pg.Point(5.5, 2.5))  # column 5, row 2 of channel 3
    qtbot.mouseMove(view.grid.viewport(), view.grid.mapFromScene(scene))
    value = cnn.current.output[0, 3, 2, 5]
    assert view.status.text() == f"out Z · sample 0 · channel 3 · [i1=2, i2=5] = {value:.6g}"


def test_an_empty_view(qtbot):
    view = TensorView()
    qtbot.addWidget(view)
    view.set_step(None)
    assert view.heatmap_count() == 0 and view.status.text() == "no step yet"


# -- FormulaPanel ----------------------------------------------------------------------
def test_formula_panel_shows_the_conv_step_in_a_readable_font(qtbot, cnn):
    panel = FormulaPanel()
    qtbot.addWidget(panel)
    cnn.seek(index_of(cnn, "c1", "backward"))
    panel.set_step(cnn.current, cnn.network)
    assert panel.title.text() == "conv2d 'c1' · backward"
    text = panel.plain_text()
    assert "W: 3×3×1×8 · U: 8×8×1 · ∂L/∂Z: 8×8×8" in text and "32,768" in text
    assert panel.text.font().pointSize() >= 11
    assert not panel.has_jacobian() and panel.jacobian_button.isHidden()


def test_formula_panel_shows_a_tiny_nodes_full_jacobian(qtbot):
    session = example_session("two_layer_classifier")
    panel = FormulaPanel()
    qtbot.addWidget(panel)
    session.seek(index_of(session, "hidden", "backward"))
    panel.set_step(session.current, session.network)
    assert panel.has_jacobian() and not panel.jacobian_button.isHidden()
    panel.jacobian_button.click()
    weight = session.network.nodes["hidden"].op.params["weight"]
    assert "Full Jacobian, sample 0" in panel.plain_text()
    assert f"{weight[0, 0]:.4g}" in panel.plain_text()


# -- ReceptiveFieldView ------------------------------------------------------------------
@pytest.mark.parametrize("node, size", [("dil1", 3), ("dil2", 7), ("dil3", 15)])
def test_clicking_a_unit_draws_its_receptive_field(qtbot, node, size):
    session = example_session("dilated_convolutions", batch=2)
    view = ReceptiveFieldView()
    qtbot.addWidget(view)
    view.resize(900, 480)
    view.show()
    qtbot.waitExposed(view)
    view.set_session(session)
    view.set_node(node)
    clicked = []
    view.unit_selected.connect(lambda *unit: clicked.append(unit))
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.unit_scene_pos(16, 15))
    assert clicked == [(node, 16, 15)]
    top, left, height, width = view.box_rect()
    assert (height, width) == (size, size)
    assert (top, left) == (16 - size // 2, 15 - size // 2)
    rows, cols = view.effective.nonzero()
    assert rows.min() >= top and rows.max() < top + height
    assert cols.min() >= left and cols.max() < left + width


# -- pages of maps ---------------------------------------------------------------------
@pytest.fixture
def wide():
    return example_session("resnet_blocks", batch=2)


def shown_channels(view, values) -> None:
    """The heatmaps hold exactly the channels the page says, in order."""
    channels = view.shown_maps()
    assert view.heatmap_count() == len(channels)
    for image, channel in zip(view.grid.images, channels):
        np.testing.assert_array_equal(image.image, values[channel])


def test_a_64_channel_map_shows_pages_of_16(qtbot, wide):
    view = TensorView()
    qtbot.addWidget(view)
    wide.seek(index_of(wide, "basic_conv1", "forward"))
    view.set_step(wide.current, wide.network)
    values = wide.current.output[0]
    assert values.shape[0] == 64 and not view.pages.isHidden()
    assert view.shown_maps() == range(0, 16)
    assert view.pages.label.text() == "channels 0–15 of 64"
    shown_channels(view, values)
    images = list(view.grid.images)
    qtbot.mouseClick(view.pages.next, Qt.MouseButton.LeftButton)
    assert view.shown_maps() == range(16, 32)
    assert view.pages.label.text() == "channels 16–31 of 64"
    assert view.grid.titles[0].text == "channel 16"
    assert all(a is b for a, b in zip(view.grid.images, images))  # updated in place
    shown_channels(view, values)
    low, high = view.grid.images[0].getLevels()
    assert (low, high) == (values.min(), values.max())  # the whole tensor's colour bar


def test_stepping_keeps_the_page_while_the_channel_count_stays(qtbot, wide):
    view = TensorView()
    qtbot.addWidget(view)
    wide.seek(index_of(wide, "basic_conv1", "forward"))
    view.set_step(wide.current, wide.network)
    view.pages.move(1)
    view.pages.move(1)
    wide.step_forward()  # basic_bn1: 64×8×8 as well
    view.set_step(wide.current, wide.network)
    assert view.shown_maps() == range(32, 48)
    shown_channels(view, wide.current.output[0])
    view.set_sample(1)
    assert view.shown_maps() == range(32, 48)
    shown_channels(view, wide.current.output[1])
    wide.seek(index_of(wide, "widen", "forward"))  # 256 channels: back to the first page
    view.set_step(wide.current, wide.network)
    assert view.shown_maps() == range(0, 16)
    assert view.pages.label.text() == "channels 0–15 of 256"


def test_hovering_a_later_page_names_the_channel(qtbot, wide):
    view = shown_view(qtbot)
    wide.seek(index_of(wide, "basic_conv1", "forward"))
    view.set_step(wide.current, wide.network)
    view.pages.move(1)
    box = view.grid.boxes[3]  # channel 19
    scene = box.mapViewToScene(pg.Point(5.5, 2.5))
    qtbot.mouseMove(view.grid.viewport(), view.grid.mapFromScene(scene))
    value = wide.current.output[0, 19, 2, 5]
    assert view.status.text() == f"out Z · sample 0 · channel 19 · [i1=2, i2=5] = {value:.6g}"


def double_click(qtbot, widget, point) -> None:
    """As a mouse does it: a click, then a press that is a double click, and a release.
    (QTest's mouseDClick sends the double click alone.)"""
    left = Qt.MouseButton.LeftButton
    qtbot.mouseClick(widget, left, pos=point)
    qtbot.mouseDClick(widget, left, pos=point)
    qtbot.mouseRelease(widget, left, pos=point)


def test_double_clicking_a_map_shows_it_large_with_its_numbers(qtbot, wide):
    view = shown_view(qtbot)
    wide.seek(index_of(wide, "basic_conv1", "forward"))
    view.set_step(wide.current, wide.network)
    view.pages.move(1)
    box = view.grid.boxes[2]  # channel 18
    point = view.grid.mapFromScene(box.mapViewToScene(pg.Point(4.5, 4.5)))
    clicked = []
    view.cell_clicked.connect(lambda *cell: clicked.append(cell))
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert clicked == [(18, 4, 4)] and not view.pages.single  # a click: that cell
    double_click(qtbot, view.grid.viewport(), point)
    assert view.shown_maps() == range(18, 19) and view.pages.single
    assert view.pages.label.text() == "channel 18 of 64"
    values = wide.current.output[0, 18]
    np.testing.assert_array_equal(view.grid.images[0].image, values)
    assert len(view.grid.numbers[0]) == 64  # 8×8, large: its numbers are printed
    assert float(view.grid.numbers[0][0].text()) == pytest.approx(values[0, 0], rel=0.06,
                                                                   abs=1e-3)
    view.pages.move(1)
    assert view.shown_maps() == range(19, 20)
    qtbot.mouseClick(view.pages.grid, Qt.MouseButton.LeftButton)
    assert view.shown_maps() == range(16, 32) and not view.pages.single


def test_a_few_channels_need_no_pages_and_small_cells_no_numbers(qtbot, cnn):
    view = shown_view(qtbot)
    cnn.seek(index_of(cnn, "c1", "forward"))
    view.set_step(cnn.current, cnn.network)
    assert view.pages.isHidden() and view.shown_maps() == range(0, 8)
    assert all(len(cells) == 64 for cells in view.grid.numbers)
    view.resize(900, 300)  # too small to read them: the same maps, without numbers
    qtbot.waitUntil(lambda: not any(view.grid.numbers))
    assert view.heatmap_count() == 8


def test_bars_too_short_to_see_show_no_number(qtbot):
    from bpviz.ui.stepping.bars import BarChart

    chart = BarChart()
    qtbot.addWidget(chart)
    values = np.array([-1.3e-4, -2.7e-7, 7.9e-7, 9.2e-5, 4.3e-6, -4.8e-6])
    chart.show_bars(values, diverging=True)
    texts = [item.textItem.toPlainText() for item in chart.bar_numbers]
    assert texts == ["-.00013", "", "", "9.2e-5", "4.3e-6", "-4.8e-6"]
