"""The canvas in a real window: what is left on screen after edits, zoom to fit, zooming."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, QRect  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402

from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, fitted_and_stepped, make_window  # noqa: E402

DILATED = EXAMPLES / "dilated_convolutions.json"



def screen_image(window) -> QImage:
    """What the window shows on screen (its backing store), not a fresh repaint."""
    return window.screen().grabWindow(window.winId()).toImage()


def drawn_rects(window, node_ids) -> list[QRect]:
    """Where the nodes are drawn now, in window pixels."""
    view = window.view
    rects = []
    for node_id in node_ids:
        item = window.view.graph_scene.nodes[node_id]
        in_view = view.mapFromScene(item.sceneBoundingRect()).boundingRect()
        visible = in_view.intersected(view.viewport().rect().adjusted(2, 2, -2, -2))
        if not visible.isEmpty():
            rects.append(visible.translated(view.viewport().mapTo(window, visible.topLeft())
                                            - visible.topLeft()))
    return rects


def stray_pixels(image: QImage, rect: QRect, background: QColor) -> int:
    return sum(1 for x in range(rect.left(), rect.right(), 2)
               for y in range(rect.top(), rect.bottom(), 2)
               if image.pixelColor(x, y) != background)


def stepped_window(qtbot, steps: int = 6):
    """The dilated example stepped far enough for the canvas to follow the pass."""
    return fitted_and_stepped(qtbot, DILATED, steps)


@pytest.mark.parametrize("edit", ["new", "delete"])
def test_removed_nodes_leave_no_trace_after_stepping_scrolled_the_canvas(qtbot, edit):
    window, _ = stepped_window(qtbot)
    removed = list(window.editor.doc.nodes)[:6]
    rects = drawn_rects(window, removed)
    assert rects, "the test needs removed nodes in sight"
    if edit == "new":
        window.actions_["new"].trigger()
    else:
        window.editor.remove_nodes(removed, [])
    settle()  # repainted
    image = screen_image(window)
    background = window.view.graph_scene.backgroundBrush().color()
    assert [stray_pixels(image, rect, background) for rect in rects] == [0] * len(rects)


def visible_area(view):
    return view.mapToScene(view.viewport().rect()).boundingRect()


def pixels_apart(view, a: QPointF, b: QPointF) -> float:
    """How far apart two scene points are on screen (both directions added)."""
    return (a - b).manhattanLength() * view.zoom_level()


@pytest.mark.parametrize("path", [TINY_CNN, DILATED])
def test_zoom_to_fit_shows_the_whole_graph_centred(qtbot, path):
    window, _ = make_window(qtbot, path)
    window.resize(1600, 1000)
    settle()
    window.actions_["zoom_fit"].trigger()
    view = window.view
    seen = visible_area(view)
    for item in view.graph_scene.nodes.values():
        assert seen.contains(item.sceneBoundingRect()), item.node_id
    graph = view.graph_scene.itemsBoundingRect()
    assert abs(seen.center().x() - graph.center().x()) < 2 / view.zoom_level() + 1
    assert abs(seen.center().y() - graph.center().y()) < 2 / view.zoom_level() + 1


def test_zoom_out_and_in_keep_the_middle_of_the_view(qtbot):
    window, _ = make_window(qtbot, DILATED)
    view = window.view
    window.actions_["zoom_fit"].trigger()
    middle = visible_area(view).center()
    for _ in range(3):
        window.actions_["zoom_out"].trigger()
    assert pixels_apart(view, visible_area(view).center(), middle) <= 4
    for item in view.graph_scene.nodes.values():
        assert visible_area(view).contains(item.sceneBoundingRect())
    window.actions_["zoom_in"].trigger()
    assert pixels_apart(view, visible_area(view).center(), middle) <= 4


def test_the_wheel_zooms_about_the_mouse(qtbot):
    window, _ = make_window(qtbot, DILATED)
    view = window.view
    spot = QPoint(200, 150)
    under = view.mapToScene(spot)
    view.zoom(1.5, QPointF(spot))
    assert pixels_apart(view, view.mapToScene(spot), under) <= 3


def test_a_small_window_keeps_half_of_itself_for_the_canvas(qtbot):
    window, _ = make_window(qtbot, TINY_CNN)
    window.stepping.synchronous = True
    window.stepping.request("step")  # the tensor, formula and training docks appear
    settle()
    window.resize(800, 500)
    settle()
    view = window.view
    assert view.width() >= 0.45 * window.width()
    assert view.height() >= 180
    window.resize(1600, 1000)
    settle()
    window.stepping.docks["formula"].raise_()  # behind it, the training panel
    window.training_dock.raise_()
    settle()
    panel = window.training_dock.widget()
    assert panel.height() >= panel.minimumSizeHint().height()
