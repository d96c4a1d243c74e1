"""The inspector's typed fields and the op palette, driven through their widgets."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402

from bpviz.engine import OPS  # noqa: E402
from bpviz.graph import dumps_graph  # noqa: E402
from bpviz.ui.inspector_fields import parse_shape  # noqa: E402
from bpviz.ui.palette import OP_MIME, grouped_ops, op_tooltip  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


@pytest.fixture
def win(qtbot):
    return make_window(qtbot, TINY_CNN)[0]


def type_into(qtbot, widget, text: str) -> None:
    """Select all, type, press Enter: what a user does in a spin box or line edit."""
    line = widget.lineEdit() if hasattr(widget, "lineEdit") else widget
    line.setFocus()
    line.selectAll()
    qtbot.keyClicks(line, text)
    qtbot.keyClick(line, Qt.Key.Key_Return)


def test_inspector_shows_the_selected_node(win):
    win.editor.set_selection(["c1"])
    inspector = win.inspector
    assert inspector.node_id == "c1" and inspector.id_edit.text() == "c1"
    assert inspector.fields["out_channels"].value() == 8
    assert inspector.fields["kernel"].value() == 3
    assert inspector.fields["padding"].value() == 1
    assert inspector.fields["bias"].value() is True
    assert inspector.info["inputs"].text() == "1×8×8 from x"
    assert inspector.info["output"].text() == "8×8×8"
    assert inspector.info["parameters"].text() == "80"
    assert inspector.info["receptive field"].text() == "3×3, stride 1"
    assert inspector.trainable.isChecked() and inspector.error.isHidden()


def test_an_edit_is_one_undo_step_and_undo_restores(win, qtbot):
    win.editor.set_selection(["c1"])
    before = dumps_graph(win.editor.doc)
    steps = win.editor.undo_stack.count()
    type_into(qtbot, win.inspector.fields["out_channels"].spin, "16")
    assert win.editor.doc.nodes["c1"].params["out_channels"] == 16
    assert win.editor.undo_stack.count() == steps + 1
    assert win.inspector.info["output"].text() == "16×8×8"
    assert win.inspector.info["parameters"].text() == "160"
    win.actions_["undo"].trigger()
    assert dumps_graph(win.editor.doc) == before
    assert win.inspector.fields["out_channels"].value() == 8


def test_a_pair_is_written_as_one_int_when_square(win, qtbot):
    win.editor.set_selection(["c1"])
    field = win.inspector.fields["kernel"]
    type_into(qtbot, field.h, "5")
    assert win.editor.doc.nodes["c1"].params["kernel"] == [5, 3]
    type_into(qtbot, field.w, "5")
    assert win.editor.doc.nodes["c1"].params["kernel"] == 5
    assert win.inspector.info["receptive field"].text() == "5×5, stride 1"


def test_setting_a_default_value_leaves_it_out_of_the_file(win, qtbot):
    win.editor.set_selection(["c1"])
    type_into(qtbot, win.inspector.fields["padding"].h, "0")
    assert win.editor.doc.nodes["c1"].params["padding"] == [0, 1]
    type_into(qtbot, win.inspector.fields["padding"].w, "0")
    assert "padding" not in win.editor.doc.nodes["c1"].params
    assert win.inspector.info["output"].text() == "8×6×6"


def test_derived_pool_stride_shows_auto(win, qtbot):
    win.editor.set_selection(["p1"])
    field = win.inspector.fields["stride"]
    assert field.value() is None and field.h.text() == "auto"
    type_into(qtbot, field.h, "1")
    assert win.editor.doc.nodes["p1"].params["stride"] == 1


def test_an_out_of_range_value_is_refused_and_the_field_reverts(win, qtbot):
    win.editor.set_selection(["x"])
    before = dumps_graph(win.editor.doc)
    steps = win.editor.undo_stack.count()
    field = win.inspector.fields["shape"]
    type_into(qtbot, field.edit, "0, 8, 8")
    assert dumps_graph(win.editor.doc) == before
    assert win.editor.undo_stack.count() == steps
    assert "at least 1" in win.statusBar().currentMessage()
    assert field.edit.text() == "1, 8, 8"
    type_into(qtbot, field.edit, "eight")
    assert "whole numbers" in win.statusBar().currentMessage()
    assert dumps_graph(win.editor.doc) == before
    type_into(qtbot, field.edit, "3×16×16")
    assert win.editor.doc.nodes["x"].params["shape"] == [3, 16, 16]


def test_spin_boxes_keep_to_the_ops_range(win):
    win.editor.set_selection(["c1"])
    spin = win.inspector.fields["out_channels"].spin
    spin.setValue(0)
    assert spin.value() == 1 and win.editor.doc.nodes["c1"].params["out_channels"] == 1
    win.editor.set_selection(["fc"])
    assert win.inspector.fields["units"].spin.maximum() == OPS["dense"].hypers[0].maximum


def test_a_node_error_shows_in_red(win, qtbot):
    win.editor.set_selection(["c1"])
    type_into(qtbot, win.inspector.fields["kernel"].h, "12")
    assert not win.inspector.error.isHidden()
    assert "color:" in win.inspector.error.text()
    assert win.inspector.info["output"].text() == "?"


def test_trainable_toggle_and_rename(win, qtbot):
    win.editor.set_selection(["r1"])
    assert not win.inspector.trainable.isEnabled()  # relu has nothing to train
    win.editor.set_selection(["fc"])
    assert win.inspector.trainable.isEnabled()
    win.inspector.trainable.click()
    assert win.editor.doc.nodes["fc"].trainable is False
    type_into(qtbot, win.inspector.id_edit, "classifier")
    assert "classifier" in win.editor.doc.nodes and "fc" not in win.editor.doc.nodes
    assert win.editor.doc.nodes["loss"].inputs == ["classifier"]
    assert win.inspector.node_id == "classifier"
    type_into(qtbot, win.inspector.id_edit, "x")
    assert "already a node" in win.statusBar().currentMessage()
    assert win.inspector.id_edit.text() == "classifier"


def test_with_nothing_selected_the_graph_is_shown(win, qtbot):
    win.editor.set_selection([])
    assert win.inspector.node_id is None
    assert win.inspector.name_edit.text() == win.editor.doc.name
    type_into(qtbot, win.inspector.name_edit, "my CNN")
    assert win.editor.doc.name == "my CNN" and win.windowTitle().startswith("my CNN — ")


def test_parse_shape_accepts_the_usual_spellings():
    assert parse_shape("1, 8, 8") == parse_shape("1×8×8") == parse_shape("1 8 8") == [1, 8, 8]
    with pytest.raises(ValueError, match="whole numbers"):
        parse_shape("1.5, 2")


def test_palette_lists_every_op_grouped_with_icon_and_tooltip(win):
    palette = win.palette
    assert set(palette.items) == set(OPS)
    titles = [title for title, _ in grouped_ops()]
    assert titles == ["Input", "Layers", "Pooling", "Merge", "Activations", "Normalisation",
                      "Losses"]
    for name, item in palette.items.items():
        cls = OPS[name]
        assert not item.icon(0).isNull()
        tip = item.toolTip(0)
        assert tip == op_tooltip(cls)
        for spec in cls.hypers:
            assert spec.name in tip
    assert "Σ" in palette.items["conv2d"].toolTip(0)
    data = palette.mime_data("conv2d")
    assert bytes(data.data(OP_MIME)) == b"conv2d"


def test_palette_filter_hides_other_ops(win, qtbot):
    qtbot.keyClicks(win.palette.filter, "pool")
    shown = [name for name, item in win.palette.items.items() if not item.isHidden()]
    assert sorted(shown) == ["avgpool2d", "global_avgpool", "maxpool2d"]


HALF_EDITED = """{"format": "bpviz-graph", "version": 1, "name": "half edited", "nodes": [
  {"id": "x", "op": "input", "params": {"shape": [1, 8, "a"]}},
  {"id": "c", "op": "conv2d", "inputs": ["x"],
   "params": {"out_channels": "many", "kernel": [3, 3, 3], "stride": 0.5, "bias": 1}},
  {"id": "p", "op": "maxpool2d", "inputs": ["c"], "params": {"kernel": null}},
  {"id": "l", "op": "mse", "inputs": ["p"], "params": {"reduction": "avg"}},
  {"id": "u", "op": "convolution", "inputs": ["nope"], "params": {"k": 3}}]}"""


def test_every_node_of_a_half_edited_file_can_be_inspected(win, tmp_path):
    path = tmp_path / "half.json"
    path.write_text(HALF_EDITED)
    assert win.open_path(str(path))
    for node_id in ["x", "c", "p", "l", "u"]:
        win.editor.set_selection([node_id])
        assert win.inspector.node_id == node_id
        assert not win.inspector.error.isHidden()
        assert node_id in win.inspector.error.text()
    assert "unknown op" in win.inspector.error.text()
    assert "⚠" in win.graph_status.text()
