"""The Tensors panel's tab follows the phase: the tab chosen during the forward
pass gives way to ∂L/∂out on the first backward step, and comes back after."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import TWO_LAYER, fitted_and_stepped  # noqa: E402


def step(window) -> None:
    window.stepping.request("step")
    settle()


def test_the_first_backward_step_shows_the_gradient(qtbot):
    window, _answers = fitted_and_stepped(qtbot, TWO_LAYER, 1)
    tensors = window.stepping.tensors
    forward = len(window.editor.doc.nodes)
    for _ in range(forward - 1):
        assert tensors.step.phase == "forward"
        assert tensors.select("out")
        step(window)
    # the loss's forward step opens on y beside ŷ, what the loss compares
    assert tensors.step.phase == "forward" and tensors.current_key() == "target"
    step(window)
    assert tensors.step.phase == "backward"
    assert tensors.current_key() == "grad_out"
    step(window)
    assert tensors.current_key() == "grad_out"
    assert tensors.select("grad_in:0")
    step(window)
    assert tensors.step.phase == "backward" and tensors.current_key() == "grad_in:0"
