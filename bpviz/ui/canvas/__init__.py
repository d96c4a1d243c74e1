"""The graph canvas: the interactive view of the editor's document.

The scene it shows lives in bpviz.scene (the exporters draw it too); it is
re-exported here for the window's convenience.
"""

from bpviz.scene.scene import GraphScene
from bpviz.ui.canvas.view import OP_MIME, GraphView

__all__ = ["OP_MIME", "GraphScene", "GraphView"]
