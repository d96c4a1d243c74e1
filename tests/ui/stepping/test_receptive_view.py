"""The receptive-field panel's controls."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QStyle, QStyleOptionComboBox  # noqa: E402

from bpviz.engine.stepping import StepSession  # noqa: E402
from bpviz.graph import build_network, load_graph  # noqa: E402
from bpviz.ui.stepping import ReceptiveFieldView  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402


def session_with_long_ids(suffix: str) -> StepSession:
    """tiny_cnn with ids as the editor makes them, and longer ("maxpool2d_1…")."""
    doc = load_graph(EXAMPLES / "tiny_cnn.json")
    for node_id in list(doc.nodes):
        doc.rename(node_id, f"{doc.nodes[node_id].op}_1{suffix}")
    network = build_network(doc, seed=0)
    rng = np.random.default_rng(0)
    feeds = {i: rng.standard_normal((2, *network.nodes[i].op.hp["shape"]))
             for i in network.inputs}
    targets = {loss: rng.integers(0, 10, 2) for loss in network.losses}
    return StepSession(network, feeds, targets)


def text_room(combo) -> int:
    """How wide the combo box's text field is, in pixels."""
    option = QStyleOptionComboBox()
    combo.initStyleOption(option)
    return combo.style().subControlRect(QStyle.ComplexControl.CC_ComboBox, option,
                                        QStyle.SubControl.SC_ComboBoxEditField, combo).width()


@pytest.mark.parametrize("suffix, width", [("", 580), ("_of_the_second_block", 900)])
def test_the_node_picker_shows_whole_node_ids(qtbot, suffix, width):
    view = ReceptiveFieldView()
    qtbot.addWidget(view)
    view.resize(width, 300)
    view.show()
    qtbot.waitExposed(view)
    settle()  # laid out while empty ("no pass yet"), as in the window
    view.set_session(session_with_long_ids(suffix))
    settle()
    combo = view.node
    ids = [combo.itemText(index) for index in range(combo.count())]
    longest = max(combo.fontMetrics().horizontalAdvance(text) for text in ids)
    assert text_room(combo) >= longest
    assert combo.width() >= combo.sizeHint().width()
    assert combo.toolTip() == combo.currentText()
