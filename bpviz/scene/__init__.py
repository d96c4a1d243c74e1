"""The graph as a picture: the QGraphicsScene, its items and the themes' colours.

Used by the window's canvas (bpviz.ui.canvas) and by the exporters
(bpviz.export). Qt, but no widgets or windows: nothing here imports bpviz.ui.
The scene draws a SceneModel (bpviz.scene.model): the window's GraphEditor,
or a read-only DocumentModel.
"""
