"""What the tensor-panel tests share."""

from __future__ import annotations

from bpviz.ui.stepping import TensorView


def shown_view(qtbot, width: int = 1000, height: int = 480) -> TensorView:
    """A TensorView on screen at a given size (maps print numbers only with room)."""
    view = TensorView()
    qtbot.addWidget(view)
    view.resize(width, height)
    view.show()
    qtbot.waitExposed(view)
    return view
