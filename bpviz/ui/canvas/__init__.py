"""The graph canvas: a QGraphicsScene mirroring the editor's document and its view."""

from bpviz.ui.canvas.scene import GraphScene
from bpviz.ui.canvas.view import OP_MIME, GraphView

__all__ = ["OP_MIME", "GraphScene", "GraphView"]
