"""Big tensors in the window: pictures drawn small, a build with progress that Cancel stops."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402

from bpviz.graph import GraphDocument, NodeData  # noqa: E402
from bpviz.ui.stepping.heatmaps import MAX_DRAWN_SIDE  # noqa: E402
from tests.ui.windowkit import make_window  # noqa: E402


def big_maps(channels: int = 8, size: int = 224, blocks: int = 1) -> GraphDocument:
    """3×size×size → (conv → relu) × blocks → global pool → dense 10 → loss."""
    nodes, previous = [NodeData("x", "input", [], {"shape": [3, size, size]})], "x"
    for block in range(1, blocks + 1):
        nodes += [NodeData(f"conv{block}", "conv2d", [previous],
                           {"out_channels": channels, "kernel": 3, "padding": 1}),
                  NodeData(f"relu{block}", "relu", [f"conv{block}"])]
        previous = f"relu{block}"
    nodes += [NodeData("pool", "global_avgpool", [previous]),
              NodeData("fc", "dense", ["pool"], {"units": 10}),
              NodeData("loss", "softmax_cross_entropy", ["fc"])]
    return GraphDocument("big maps", nodes)


def window_on(qtbot, doc: GraphDocument, batch: int = 1):
    window, _ = make_window(qtbot, None)
    window.editor.set_document(doc)
    window.stepping.presenter.pulses.enabled = False
    window.workspace.set_settings(batch=batch)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    return window


def test_a_224_map_is_drawn_small_and_says_how(qtbot):
    window = window_on(qtbot, big_maps())
    controller = window.stepping
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: controller.session is not None, timeout=60000)
    controller.seek("forward", 2)  # conv1: 8 channels of 224×224
    tensors = controller.tensors
    qtbot.waitUntil(lambda: tensors.heatmap_count() > 0)
    grid = tensors.grid
    rows, cols = grid.picture_shape
    assert max(rows, cols) <= MAX_DRAWN_SIDE and rows < 224
    assert grid.block[0] > 1 and -(-224 // grid.block[0]) == rows
    for image in grid.images:
        assert image.image.shape == (rows, cols)
        # the picture still covers the map's 224×224 cells: a hover reads every value
        assert image.mapRectToParent(image.boundingRect()) == QRectF(0, 0, 224, 224)
    status = tensors.status.text()
    assert f"drawn as {rows}×{cols} means of {grid.block[0]}×{grid.block[1]} blocks" in status
    cell = grid.map_at(grid.boxes[0].mapViewToScene(QPointF(200.5, 100.5)))
    assert cell == (0, 100, 200)  # (map, row, column) of the map, not of the picture


def test_cancel_during_a_build_stops_it_and_leaves_the_window_usable(qtbot):
    window = window_on(qtbot, big_maps(channels=16, size=96, blocks=6), batch=8)
    controller = window.stepping
    seen = []
    messages = []  # a busy machine may outlast a status message's few seconds
    window.statusBar().messageChanged.connect(messages.append)

    def cancel_at_first(done: int, total: int) -> None:
        seen.append((done, total, controller.busy.maximum(), controller.busy.format()))
        if len(seen) == 1:
            controller.cancel_build()

    qtbot.keyClick(window, Qt.Key.Key_F10)
    assert controller.building
    controller.job.progress.connect(cancel_at_first)
    qtbot.waitUntil(lambda: bool(seen), timeout=60000)
    done, total, maximum, text = seen[0]
    assert total == 3 * len(window.editor.doc.nodes) == maximum  # a determinate bar
    assert text == f"weights {done}/{total // 3}"  # node by node: weights, forward, backward
    assert not controller.building and controller.session is None
    assert not controller.busy.isVisible() and not controller.cancel.isVisible()
    assert "pass cancelled" in messages
    qtbot.keyClick(window, Qt.Key.Key_F10)  # at once: it waits for the cancelled worker
    qtbot.waitUntil(lambda: controller.stopping is None, timeout=60000)
    qtbot.waitUntil(lambda: controller.session is not None, timeout=60000)
    assert controller.session.position == 0 and len(seen) == 1
    qtbot.keyClick(window, Qt.Key.Key_F10)
    assert controller.session.position == 1


def test_the_effective_field_of_a_big_pass_comes_from_a_worker(qtbot, monkeypatch):
    monkeypatch.setattr("bpviz.ui.stepping.receptive_drawing.HEAVY_VALUES", 0)
    window = window_on(qtbot, big_maps(channels=4, size=32, blocks=2))
    controller = window.stepping
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: controller.session is not None, timeout=60000)
    controller.docks["receptive"].show()
    controller.docks["receptive"].raise_()
    view = controller.receptive
    qtbot.waitUntil(view.isVisible)
    view.set_node("conv2")
    view.select_unit(10, 12)  # asked at once after the node's own unit: the last one wins
    assert view.effective_title.text.startswith("effective field: a backward pass is running")
    qtbot.waitUntil(lambda: view._field_job is None and view.effective is not None,
                    timeout=60000)
    channel = view.channel.value()
    expected = controller.session.effective_receptive_field("conv2", 0, channel, 10, 12)
    assert view.effective == pytest.approx(expected.sum(axis=0))
    # conv2 ∘ relu ∘ conv1, both 3×3: the field is 5×5 around the unit
    rows, cols = expected.sum(axis=0).nonzero()
    assert rows.min() >= 8 and rows.max() <= 12 and cols.min() >= 10 and cols.max() <= 14
    assert view.effective_title.text == f"|∂conv2[{channel},10,12] / ∂x|"


def test_a_long_vector_is_drawn_as_at_most_512_bars_of_block_means(qtbot):
    import numpy as np

    from bpviz.ui.stepping.bars import BarChart

    chart = BarChart()
    qtbot.addWidget(chart)
    values = np.random.default_rng(0).standard_normal(4096)
    chart.show_bars(values, True)
    assert (chart.block, chart.bars_drawn) == (8, 512)
    assert chart.bars.opts["height"][3] == pytest.approx(values[24:32].mean())
    assert chart.bars.opts["x"][3] == pytest.approx(27.5)  # over the entries it stands for
    assert chart.values is not None and chart.values.size == 4096  # the hover reads each
