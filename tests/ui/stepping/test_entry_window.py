"""Click an entry of the Tensors panel and the Formula panel explains it, in a real window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QKeySequence

from bpviz.engine.explain import explain_entry
from bpviz.engine.explain_text import explanation_text
from tests.ui.eventloop import settle
from tests.ui.windowkit import EXAMPLES, fitted_and_stepped

DIGITS_CNN = EXAMPLES / "digits_cnn.json"


def window_at(qtbot, phase: str, node: str, path=DIGITS_CNN):
    window, _ = fitted_and_stepped(qtbot, path, 1)
    session = window.workspace.session
    window.workspace.seek(next(i for i, step in enumerate(session.steps)
                               if step.phase == phase and step.node == node))
    settle()
    return window


def click_cell(qtbot, grid, box: int, row: int, col: int) -> None:
    """A real mouse click in the middle of cell (row, col) of heatmap `box`."""
    scene_point = grid.boxes[box].mapViewToScene(QPointF(col + 0.5, row + 0.5))
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton,
                     pos=grid.mapFromScene(scene_point))
    settle()


def expected_text(window) -> str:
    """The engine's explanation of the chosen entry, rearranged as the box shows it:
    the sum in numbers first, then in labels, then the formula."""
    entry = window.workspace.entry
    explanation = explain_entry(window.workspace.session, entry.node, entry.tensor, entry.at)
    _entry, formula, labels, numbers, total, *note = explanation_text(explanation).splitlines()
    value = total.split()[1]  # "  = 0.04213   (145 terms)"
    return "\n".join([f"{value} {numbers.strip()}", f"  {labels.strip()}",
                       formula, *note])


def read_mask(window, key: str, sample: int, shape) -> np.ndarray:
    """The cells of `key`'s map (one channel) that the explanation's factors name."""
    entry = window.workspace.entry
    explanation = explain_entry(window.workspace.session, entry.node, entry.tensor, entry.at)
    mask = np.zeros(shape, dtype=bool)
    for term in explanation.terms:
        for factor in term.factors:
            if factor.key == key and factor.at[0] == sample:
                mask[factor.at[-2], factor.at[-1]] = True
    return mask


def test_a_clicked_weight_gradient_is_explained_and_its_input_window_marked(qtbot):
    window = window_at(qtbot, "backward", "conv1")
    tensors, link = window.stepping.tensors, window.stepping.entry
    assert tensors.select("grad:weight")
    settle()
    first = tensors.pages.first
    click_cell(qtbot, tensors.grid, 2, 0, 1)  # kernel first + 2, tap (0, 1)
    m, n = np.unravel_index(first + 2, (16, 1))
    assert window.workspace.entry.key == "conv1/grad/weight"
    assert window.workspace.entry.at == (int(m), int(n), 0, 1)
    assert link.box.isVisible()
    assert link.box.plain_text() == expected_text(window)
    assert link.map_marks.chosen == (2, 0, 1)
    tensors.select("in:0")  # the input map: the window the tap reads
    settle()
    mask = read_mask(window, "x/out", tensors.sample.value(), (8, 8))
    assert mask.sum() == 7 * 8  # the tap (0, 1) with padding 1: rows 0…6 of every column
    assert np.array_equal(link.map_marks.masks[0], mask)
    assert link.map_marks.chosen is None
    tensors.select("grad_out")  # ∂L/∂Z: the upstream cells, in channel m
    settle()
    shown = list(tensors.shown_maps())
    for k, channel in enumerate(shown):
        marked = link.map_marks.masks[k]
        assert marked.any() == (channel == int(m)), channel
    assert set(link.node_marks.rings) == {"conv1", "x"}  # its own node, and x it reads


def test_arrow_keys_move_the_entry_and_esc_clears_it(qtbot):
    window = window_at(qtbot, "forward", "conv1")
    tensors, link = window.stepping.tensors, window.stepping.entry
    assert tensors.current_key() == "out"
    sample = tensors.sample.value()
    click_cell(qtbot, tensors.grid, 0, 3, 4)
    first = tensors.pages.first
    assert window.workspace.entry.at == (sample, first, 3, 4)
    assert link.box.plain_text() == expected_text(window)  # why this output is what it is
    qtbot.keyClick(tensors.grid, Qt.Key.Key_Right)
    qtbot.keyClick(tensors.grid, Qt.Key.Key_Down)
    qtbot.keyClick(tensors.grid, Qt.Key.Key_Down)
    settle()
    assert window.workspace.entry.at == (sample, first, 5, 5)
    assert link.box.plain_text() == expected_text(window)
    assert link.map_marks.chosen == (0, 5, 5)
    qtbot.keyClick(tensors.grid, Qt.Key.Key_PageDown)
    settle()
    assert window.workspace.entry.at == (sample, first + 1, 5, 5)
    qtbot.keyClick(tensors.grid, Qt.Key.Key_Escape)
    settle()
    assert window.workspace.entry is None
    assert not link.box.isVisible() and link.map_marks.chosen is None
    assert link.node_marks.rings == {}


def test_a_clicked_bar_is_explained_and_the_choice_goes_with_the_pass(qtbot):
    window = window_at(qtbot, "backward", "fc")
    tensors, link = window.stepping.tensors, window.stepping.entry
    assert tensors.select("grad:bias")
    settle()
    tensors.bars.clicked.emit(3)
    settle()
    assert window.workspace.entry.key == "fc/grad/bias" and window.workspace.entry.at == (3,)
    assert link.box.plain_text() == expected_text(window)
    window.stepping.bar.step_back()  # the loss's backward step does not show fc's tensors
    settle()
    assert window.workspace.entry is None and not link.box.isVisible()
    window.stepping.bar.step()
    settle()
    tensors.bars.clicked.emit(1)
    settle()
    assert window.workspace.entry is not None
    window.stepping.invalidate()
    settle()
    assert window.workspace.entry is None and not link.box.isVisible()


BIG_CONV = {"format": "bpviz-graph", "version": 1, "name": "one conv on 224×224", "nodes": [
    {"id": "x", "op": "input", "params": {"shape": [3, 224, 224]}},
    {"id": "c", "op": "conv2d", "inputs": ["x"],
     "params": {"out_channels": 4, "kernel": 3, "padding": 1}},
    {"id": "g", "op": "global_avgpool", "inputs": ["c"]},
    {"id": "loss", "op": "mse", "inputs": ["g"]}]}


def test_a_big_entry_is_explained_off_the_ui_thread(qtbot, tmp_path):
    import json

    path = tmp_path / "big.json"
    path.write_text(json.dumps(BIG_CONV))
    window, _ = fitted_and_stepped(qtbot, path, 0)
    window.workspace.set_settings(batch=1)
    assert window.workspace.build_pass() is None
    window.workspace.seek_step("backward", 3)  # c's backward step
    assert window.stepping.tensors.select("grad:weight")  # as a user would, first
    settle()
    window.stepping.synchronous = False
    window.workspace.choose_entry("c", "grad/weight", (1, 2, 1, 1))
    link = window.stepping.entry
    assert link.explained is None  # the call came back before the explanation was made
    assert "explaining" in link.box.plain_text()  # the window goes on meanwhile
    qtbot.waitUntil(lambda: link.explained is not None, timeout=60_000)
    assert len(link.explained.explanation.terms) == 224 * 224  # every output pixel
    assert link.box.plain_text() == expected_text(window)
    assert link.box.model.rowCount() == 224 * 224  # all of them, in a scrolling list


def test_a_link_to_a_tensor_the_step_in_sight_lacks_moves_to_a_step_that_shows_it(qtbot):
    window = window_at(qtbot, "forward", "conv2")
    tensors, link = window.stepping.tensors, window.stepping.entry
    click_cell(qtbot, tensors.grid, 0, 1, 1)
    assert window.workspace.entry.key == "conv2/out"
    window.stepping.request("step")  # bn2 reads conv2/out: the choice stays, pool1 is gone
    settle()
    assert tensors.step.node == "bn2" and window.workspace.entry.key == "conv2/out"
    assert "<a href='pool1/out'>" in link.box.reads.text()
    link.box.reads.linkActivated.emit("pool1/out")
    settle()
    step = tensors.step
    assert (step.node, step.phase) == ("conv2", "forward")  # shows the entry and pool1/out
    assert tensors.current_key() == "in:0"
    assert tensors.current_entry().array is window.workspace.session.output("pool1")
    assert window.workspace.entry.key == "conv2/out" and link.box.isVisible()
    assert "node conv2" in window.stepping.bar.label.text()  # the step bar follows


@pytest.mark.parametrize("size", [None, (1024, 640)])
def test_the_explanations_numbers_are_in_sight_without_scrolling(qtbot, size):
    window = window_at(qtbot, "forward", "conv2")
    if size is not None:  # a small screen: the box takes the room from the step's formula
        window.resize(*size)
        settle()
    tensors, link = window.stepping.tensors, window.stepping.entry
    click_cell(qtbot, tensors.grid, 0, 1, 1)  # 145 terms: a long sum
    entry = window.workspace.entry
    explanation = explain_entry(window.workspace.session, entry.node, entry.tensor, entry.at)
    numbers = explanation_text(explanation).splitlines()[3].strip()  # "= (−0.087)·3.127 + …"
    box = link.box.text
    document = box.document().toPlainText()
    start = document.find(numbers[2:])
    assert start >= 0
    cursor = box.textCursor()
    cursor.setPosition(start + len(numbers) - 2)
    assert box.verticalScrollBar().value() == 0
    assert box.cursorRect(cursor).bottom() <= box.viewport().height()  # the whole line shows


def test_keyboard_shortcuts_lists_the_entry_keys_that_the_panels_handle(qtbot):
    window = window_at(qtbot, "forward", "conv1")
    tensors = window.stepping.tensors
    click_cell(qtbot, tensors.grid, 0, 3, 4)
    sample, first = tensors.sample.value(), tensors.pages.first
    window.actions_["shortcuts"].trigger()
    listed = dict(window.help.dialog.listed())
    native = QKeySequence.SequenceFormat.NativeText
    expected = {Qt.Key.Key_Left: (sample, first, 3, 3), Qt.Key.Key_Right: (sample, first, 3, 5),
                Qt.Key.Key_Up: (sample, first, 2, 4), Qt.Key.Key_Down: (sample, first, 4, 4),
                Qt.Key.Key_PageDown: (sample, first + 1, 3, 4)}
    for key, at in expected.items():  # what each key does, and that the list names it
        window.workspace.choose_entry("conv1", "out", (sample, first, 3, 4))
        settle()
        qtbot.keyClick(tensors.grid, key)
        settle()
        assert window.workspace.entry.at == at, key
        name = QKeySequence(key).toString(native)
        assert any(name in keys.split(", ") and "explained entry" in what.lower()
                   for what, keys in listed.items()), name
    qtbot.keyClick(tensors.grid, Qt.Key.Key_Escape)
    settle()
    assert window.workspace.entry is None
    assert any(keys == QKeySequence(Qt.Key.Key_Escape).toString(native)
               and "explained entry: clear" in what.lower() for what, keys in listed.items())
