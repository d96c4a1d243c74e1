"""The canvas keeps what matters in sight: the stepped node, a node selected elsewhere."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, make_window  # noqa: E402

DILATED = EXAMPLES / "dilated_convolutions.json"



def fitted_window(qtbot, path, size=(1600, 1000)):
    window, _ = make_window(qtbot, path)
    window.resize(*size)
    settle()
    window.view.zoom_to_fit()
    window.stepping.synchronous = True
    return window


def box(view, node_id):
    item = view.graph_scene.nodes[node_id]
    return item.mapRectToScene(item.rect())


@pytest.mark.parametrize("path", [TINY_CNN, EXAMPLES / "transfer_digits.json"])
def test_stepping_a_fitted_graph_never_scrolls(qtbot, path):
    window = fitted_window(qtbot, path)
    view = window.view
    fitted = view.visible_scene_rect()
    window.stepping.request("step")
    session = window.stepping.session
    for _ in range(len(session.steps) - 1):
        assert view.visible_scene_rect() == fitted, session.current.node
        window.stepping.request("step")
    # the whole pass, to its update steps
    assert session.current.phase == "update" and session.position == len(session.steps) - 1
    assert view.visible_scene_rect() == fitted


def test_a_node_out_of_sight_is_scrolled_in_by_the_least_amount(qtbot):
    window = fitted_window(qtbot, DILATED, (900, 700))
    view = window.view
    view.reset_zoom()
    first = next(iter(view.graph_scene.nodes))
    view.centerOn(box(view, first).center())
    last = list(view.graph_scene.nodes)[-1]
    assert not view.visible_scene_rect().contains(box(view, last))
    assert view.bring_into_view(last)
    seen, shown = view.visible_scene_rect(), box(view, last)
    assert seen.contains(shown)
    # the least scroll: the node sits near an edge, not in the middle
    gaps = (shown.left() - seen.left(), seen.right() - shown.right(),
            shown.top() - seen.top(), seen.bottom() - shown.bottom())
    assert min(gaps) <= 81
    assert not view.bring_into_view(last)  # in sight: nothing moves


def zoomed_in_at_the_start(qtbot):
    window = fitted_window(qtbot, DILATED, (900, 700))
    view = window.view
    view.reset_zoom()
    view.centerOn(box(view, next(iter(view.graph_scene.nodes))).center())
    return window, view


def test_a_node_selected_elsewhere_is_scrolled_into_sight(qtbot):
    window, view = zoomed_in_at_the_start(qtbot)
    last = list(view.graph_scene.nodes)[-1]
    assert not view.visible_scene_rect().contains(box(view, last))
    window.editor.set_selection([last])  # e.g. a training run paused on this node
    assert view.visible_scene_rect().contains(box(view, last))


def test_a_node_selected_on_the_canvas_does_not_scroll_it(qtbot):
    window, view = zoomed_in_at_the_start(qtbot)
    before = view.visible_scene_rect()
    names = list(view.graph_scene.nodes)
    partly = next(node_id for node_id in names
                  if before.intersects(box(view, node_id))
                  and not before.contains(box(view, node_id)))
    view.graph_scene.nodes[partly].setSelected(True)  # as a click does
    assert window.editor.selection == [partly]
    assert view.visible_scene_rect() == before
