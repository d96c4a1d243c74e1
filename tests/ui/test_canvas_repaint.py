"""What the canvas leaves on screen once step-through styling is cleared."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QRect  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, fitted_and_stepped  # noqa: E402

TRANSFER = EXAMPLES / "transfer_digits.json"



def shown_canvas(window) -> QImage:
    """The canvas as it is on screen now (the backing store, with whatever an
    incomplete repaint left there)."""
    view = window.view
    corner = view.viewport().mapTo(window, QPoint(0, 0))
    whole = window.screen().grabWindow(window.winId()).toImage()
    return whole.copy(QRect(corner, view.viewport().size()))


def fresh_canvas(window) -> QImage:
    """The canvas painted afresh from the scene."""
    viewport = window.view.viewport()
    return viewport.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)


def differing_pixels(a: QImage, b: QImage) -> int:
    a = a.convertToFormat(QImage.Format.Format_RGB32)
    b = b.convertToFormat(QImage.Format.Format_RGB32)
    assert a.size() == b.size()
    return sum(1 for x in range(0, a.width(), 2) for y in range(0, a.height(), 2)
               if a.pixel(x, y) != b.pixel(x, y))


def scroll_by(view, pixels: int) -> None:
    bar = view.horizontalScrollBar()
    bar.setValue(bar.value() + pixels)
    QApplication.processEvents()


@pytest.mark.parametrize(("path", "steps", "node"), [(TRANSFER, 17, "conv1"),
                                                      (TINY_CNN, 12, "c1")])
def test_clearing_the_pass_leaves_no_gradient_labels_behind(qtbot, path, steps, node):
    window, _ = fitted_and_stepped(qtbot, path, steps)
    assert window.stepping.session.current.phase == "backward"
    scene = window.view.graph_scene
    assert any(wire.note for wire in scene.wires.values())
    scroll_by(window.view, 90)  # the labels move on screen by blitting
    trainable = window.editor.doc.nodes[node].trainable
    window.editor.set_trainable(node, not trainable)  # drops the pass
    settle()  # repainted
    assert not any(wire.note for wire in scene.wires.values())
    assert differing_pixels(shown_canvas(window), fresh_canvas(window)) == 0
