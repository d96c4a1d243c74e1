"""Run › Verify against torch in the window: a tick or a cross on every node."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("torch")

from bpviz.engine.ops.activations import ReLU  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


def verify(qtbot, window):
    controller = window.stepping
    with qtbot.waitSignal(controller.verified, timeout=60000) as blocker:
        controller.bar.verify_action.trigger()
    return blocker.args[0]


def badges(window) -> dict:
    return {node_id: item.verify_badge for node_id, item in
            window.stepping.scene.nodes.items()}


def test_verify_puts_a_tick_on_every_node(qtbot):
    window, _ = make_window(qtbot, TINY_CNN)
    result = verify(qtbot, window)  # builds the pass first, then checks it
    assert window.stepping.session is not None
    assert result.ok
    marks = badges(window)
    assert all(badge is not None and badge.ok for badge in marks.values())
    assert all(badge.text.startswith("✓ ") for badge in marks.values())
    assert window.statusBar().currentMessage().startswith("torch agrees on every node")
    window.editor.set_trainable("fc", False)  # an edit: the badges go
    assert all(badge is None for badge in badges(window).values())


def test_a_wrong_gradient_gets_a_red_cross_where_it_enters(qtbot, monkeypatch):
    original = ReLU.backward

    def doubled(self, gy):
        return tuple(2 * g for g in original(self, gy))

    monkeypatch.setattr(ReLU, "backward", doubled)
    window, _ = make_window(qtbot, TINY_CNN)
    result = verify(qtbot, window)
    assert not result.ok
    crossed = {node_id for node_id, badge in badges(window).items() if not badge.ok}
    # r1 passes ∂L/∂u back wrongly: c1's ∂L/∂out (and its ∂L/∂W), and x's, are off;
    # r1 itself and everything after it are right
    assert crossed == {"x", "c1"}
    assert badges(window)["c1"].text.startswith("✗ ")
    assert "c1" in window.statusBar().currentMessage()
