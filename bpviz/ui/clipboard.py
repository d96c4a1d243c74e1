"""Copy and paste of nodes in the main window (Edit › Copy, Edit › Paste).

Copied nodes go on the system clipboard as graph-file text (other apps see
JSON). A paste lands centred under the mouse when the mouse is over the
canvas; otherwise beside the copied nodes, each further paste of the same
nodes one step further down and to the right, moved into the visible area
and clear of every node, so no copy hides another or lands out of sight.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from bpviz.graph import GraphError
from bpviz.graph.fileformat import loads_graph
from bpviz.ui.canvas import placement
from bpviz.ui.editor import EditError, GraphEditor

PASTE_STEP = (40.0, 100.0)  # a node's height and more: the copy below its original


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count != 1 else ''}"


class NodeClipboard:
    def __init__(self, editor: GraphEditor, view, show_message) -> None:
        self.editor = editor
        self.view = view  # the canvas (a GraphView)
        self.show_message = show_message  # for the status bar
        self._last_text = ""
        self._repeats = 0  # pastes of `_last_text` so far

    def copy(self) -> None:
        """The selected nodes as graph-file text on the clipboard.

        Plain text on purpose: a QMimeData made in Python and left on the
        clipboard crashes Qt's clean-up after the interpreter has gone.
        """
        editor = self.editor
        ids = editor.selection
        if ids:
            QApplication.clipboard().setText(editor.copy(ids))
            self.show_message(f"copied {plural(len(ids), 'node')}")

    def paste(self) -> None:
        text = QApplication.clipboard().text()
        if '"bpviz-graph"' not in text:
            self.show_message("the clipboard holds no bpviz nodes")
            return
        self._repeats = self._repeats + 1 if text == self._last_text else 1
        self._last_text = text
        step_x, step_y = PASTE_STEP
        mouse = self.mouse_on_canvas()
        try:
            if mouse is not None:
                extra = self._repeats - 1
                ids = self.editor.paste(
                    text, at=(mouse[0] + extra * step_x, mouse[1] + extra * step_y))
            else:
                ids = self.editor.paste(text, at=self.spot_in_sight(text))
        except EditError as error:
            self.show_message(str(error))
            return
        self.view.graph_scene.grow_rect()
        self.show_message(f"pasted {plural(len(ids), 'node')}")

    def spot_in_sight(self, text: str) -> tuple[float, float] | None:
        """Where a paste not under the mouse is centred: beside the copied nodes
        (each further paste a step further), moved into the visible area and on
        to a place where it covers no node. None: where the editor puts it."""
        try:
            fragment = loads_graph(text, strict=False)
        except GraphError:
            return None
        spots = [node.pos for node in fragment.nodes.values() if node.pos is not None]
        if not spots or len(spots) != len(fragment.nodes):
            return None
        xs, ys = [x for x, _ in spots], [y for _, y in spots]
        centre = ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2)
        drawn = self.view.graph_scene.nodes
        boxes = [placement.with_room(drawn[node.id].rect() if node.id in drawn
                                     else placement.NEW_NODE)
                 .translated(node.pos[0] - centre[0], node.pos[1] - centre[1])
                 for node in fragment.nodes.values()]
        step_x, step_y = PASTE_STEP
        wanted = (centre[0] + self._repeats * step_x, centre[1] + self._repeats * step_y)
        view = self.view
        plain = [box.adjusted(0, placement.ERROR_LINES / 2, 0, -placement.ERROR_LINES / 2)
                 for box in boxes]
        if (view.visible_scene_rect().contains(placement.outline(boxes).translated(*wanted))
                and placement.clear_of(plain, QPointF(*wanted), view.node_boxes(), 0.0)):
            return wanted
        return view.spot_in_sight(wanted, boxes)

    def mouse_on_canvas(self) -> tuple[float, float] | None:
        """The scene point under the mouse, when the mouse is over the canvas (not
        over a menu that covers it)."""
        view = self.view
        viewport = view.viewport()
        spot = viewport.mapFromGlobal(QCursor.pos())
        if (QApplication.activePopupWidget() is not None or not viewport.rect().contains(spot)
                or QApplication.widgetAt(QCursor.pos()) is not viewport):
            return None
        point = view.mapToScene(spot)
        return point.x(), point.y()
