"""What a GraphScene draws: a document, its ShapeReport and the selected nodes.

SceneModel is the interface the scene needs. The window's GraphEditor is one
(it edits the document with undo); DocumentModel is a read-only one over a
copy of a document, for pictures drawn off screen (the exports).

The scene follows `document_replaced` (build every item anew), the
document's own events, `report_changed` (shapes, parameter counts, errors)
and `selection_changed`; it reports the user's selection with
`set_selection`. It sets `measure` (id → (width, height) as drawn) and
`locate` (id → (x, y) where each node is drawn) for the model to use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PySide6.QtCore import QObject, Signal

from bpviz.graph import GraphDocument, ShapeReport, infer_shapes

PerNode = dict[str, tuple[float, float]]  # node id → (width, height) or (x, y)


class SceneModel(QObject):
    document_replaced = Signal()
    report_changed = Signal(object)  # ShapeReport
    selection_changed = Signal(list)  # [node id]

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = GraphDocument()
        self.report = ShapeReport()
        # Set by the scene: id → (width, height) of each node as drawn.
        self.measure: Callable[[], PerNode] | None = None
        # Set by the scene: id → (x, y) where each node is drawn (also nodes
        # without a pos of their own).
        self.locate: Callable[[], PerNode] | None = None

    def set_selection(self, ids: Iterable[str]) -> None:
        """The nodes selected in the scene (in the document's order)."""
        raise NotImplementedError


class DocumentModel(SceneModel):
    """A copy of `document` and its ShapeReport, never edited; selection is ignored."""

    def __init__(self, document: GraphDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.doc = document.copy()
        self.report = infer_shapes(self.doc)

    def set_selection(self, ids: Iterable[str]) -> None:
        pass
