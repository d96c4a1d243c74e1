"""The Tensors panel's tab follows the phase: the tab chosen during the forward
pass gives way on the first backward step to the loss's gradient with respect to
its input (its ∂L/∂L is 1), then to each node's ∂L/∂out; a tab the user chooses
stays."""

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
    loss = tensors.step
    assert loss.phase == "backward" and loss.output.ndim == 0
    assert tensors.current_key() == "grad_in:0"  # what the loss sends back, not ∂L/∂L = 1
    shown = tensors.current_entry()
    assert shown.label.startswith("∂L/∂") and shown.array.size > 1
    assert shown.array is loss.grad_inputs[0]
    step(window)
    assert tensors.current_key() == "grad_out"  # the panel's own choice gives way at the next node
    step(window)
    assert tensors.current_key() == "grad_out"
    assert tensors.select("grad_in:0")
    step(window)
    assert tensors.step.phase == "backward" and tensors.current_key() == "grad_in:0"
