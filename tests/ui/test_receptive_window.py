"""The Receptive field panel in the window: nested boxes before and after a pass, the
canvas selection, the default unit."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import numpy as np  # noqa: E402

from tests.ui.test_stepping_window import DILATED, started  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402

# The lecture's dilated stack: 3×3 convolutions with dilation 1, 2 and 4 (stride 1)
# see 3, 3 + 2·2 = 7 and 7 + 2·4 = 15 pixels.
DILATED_FIELDS = [("dil1", 3), ("dil2", 7), ("dil3", 15)]


@pytest.fixture
def dilated(qtbot):
    window, _answers = make_window(qtbot, DILATED)
    window.stepping.presenter.pulses.enabled = False
    return window


def show_receptive(qtbot, window):
    controller = window.stepping
    controller.show_docks()
    controller.docks["receptive"].show()
    controller.docks["receptive"].raise_()
    view = controller.receptive
    qtbot.waitUntil(lambda: view.isVisible() and view.node.count() > 0)
    return view


def centred(rects, unit) -> None:
    """Every box is a square of its layer's size centred on `unit` (within the 32×32 image)."""
    i, j = unit
    for (top, left, height, width), (_node, size) in zip(rects, DILATED_FIELDS):
        assert (height, width) == (size, size)
        assert (top + (size - 1) / 2, left + (size - 1) / 2) == (i, j)


def test_nested_boxes_3_7_15_before_any_pass(qtbot, dilated):
    view = show_receptive(qtbot, dilated)
    assert dilated.stepping.session is None
    dilated.editor.set_selection(["dil3"])
    qtbot.waitUntil(lambda: view.node.currentText() == "dil3")
    assert view.unit == (16, 16)  # the centre: no pass to say which unit is alive
    centred(view.nested_rects(), (16, 16))
    assert [box.node for box in view.boxes.boxes] == ["dil1", "dil2", "dil3"]
    assert view.box_rect() == (9, 9, 15, 15)
    assert view.effective is None and "F10" in view.status.text()


def test_nested_boxes_3_7_15_on_the_pass_input(qtbot, dilated):
    controller = started(qtbot, dilated)
    view = show_receptive(qtbot, dilated)
    dilated.editor.set_selection(["dil3"])
    qtbot.waitUntil(lambda: view.node.currentText() == "dil3")
    session = controller.session
    channel, i, j = session.alive_unit("dil3", 0)
    assert view.unit == (i, j) and view.channel.value() == channel
    centred(view.nested_rects(), (i, j))
    assert view.effective is not None and view.effective.any()
    expected = session.effective_receptive_field("dil3", 0, channel, i, j).sum(axis=0)
    np.testing.assert_array_equal(view.effective, expected)
    np.testing.assert_array_equal(view.input_image.image,
                                  session.feeds["x"][0].mean(axis=0))
    view.select_unit(16, 15)
    centred(view.nested_rects(), (16, 15))


def test_the_panel_follows_the_canvas_selection(qtbot, dilated):
    started(qtbot, dilated)
    dilated.stepping.follow_action.setChecked(False)
    view = show_receptive(qtbot, dilated)
    for node, size in DILATED_FIELDS:
        dilated.editor.set_selection([node])
        qtbot.waitUntil(lambda node=node: view.node.currentText() == node)
        assert view.box_rect()[2:] == (size, size)
        assert len(view.nested_rects()) == DILATED_FIELDS.index((node, size)) + 1
    dilated.editor.set_selection(["plain2_relu"])  # a relu keeps its conv's field
    qtbot.waitUntil(lambda: view.node.currentText() == "plain2_relu")
    assert [rect[2] for rect in view.nested_rects()] == [3, 5]


def test_an_edit_redraws_the_theoretical_boxes(qtbot, dilated):
    view = show_receptive(qtbot, dilated)
    dilated.editor.set_selection(["dil3"])
    qtbot.waitUntil(lambda: view.node.currentText() == "dil3")
    dilated.editor.set_params("dil3", {"out_channels": 4, "kernel": 3, "padding": 8,
                                       "dilation": 8})
    qtbot.waitUntil(lambda: view.box_rect() is not None and view.box_rect()[2] == 23)
    assert [rect[2] for rect in view.nested_rects()] == [3, 7, 23]


def test_a_deep_nest_of_boxes_keeps_its_legend_short_and_the_pictures_their_room(qtbot):
    window, _answers = make_window(qtbot, EXAMPLES / "resnet50.json")
    window.resize(1600, 1000)
    view = show_receptive(qtbot, window)
    assert view.node.currentText() == "layer4.2.relu3"  # the last block: 18 nested boxes
    qtbot.waitUntil(lambda: len(view.boxes.boxes) == 18)
    legend = view.legend.text()
    assert legend.count("■") <= 7 and "… " in legend and " more" in legend
    for box in view.boxes.boxes:  # every box is named, in the legend or its tooltip
        assert f"{box.size[0]}×{box.size[1]} {box.node} " in view.legend.toolTip()
    assert view.legend.height() < view.grid.height() / 2
