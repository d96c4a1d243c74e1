"""Ctrl+Z undoes the graph's last change while an inspector field has focus;
typing not yet committed is still the field's own to undo."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QLineEdit  # noqa: E402

from tests.ui.windowkit import TWO_LAYER, make_window  # noqa: E402


def focused_units_field(qtbot, window):
    node = next(n for n in window.editor.doc.nodes.values() if n.op == "dense")
    window.editor.set_selection([node.id])
    field = window.inspector.fields["units"]
    spin = next(w for w in field.findChildren(object) if hasattr(w, "setValue"))
    window.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    return node.id, spin


def test_ctrl_z_in_an_inspector_field_undoes_the_change(qtbot):
    window, _answers = make_window(qtbot, TWO_LAYER)
    node_id, spin = focused_units_field(qtbot, window)
    before = window.editor.doc.nodes[node_id].params.get("units")
    spin.setValue(before + 3)  # an arrow click: committed at once
    assert window.editor.doc.nodes[node_id].params["units"] == before + 3
    assert window.actions_["undo"].text().startswith("&Undo")
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.doc.nodes[node_id].params.get("units") == before
    assert spin.value() == before
    qtbot.keyClick(spin, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.doc.nodes[node_id].params["units"] == before + 3


def test_typing_not_committed_is_the_fields_own_to_undo(qtbot):
    window, _answers = make_window(qtbot, TWO_LAYER)
    node_id, spin = focused_units_field(qtbot, window)
    stack_index = window.editor.undo_stack.index()
    edit = spin.findChild(QLineEdit)
    qtbot.keyClick(edit, Qt.Key.Key_End)
    qtbot.keyClicks(edit, "7")
    assert edit.isModified()
    qtbot.keyClick(spin, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.editor.undo_stack.index() == stack_index
