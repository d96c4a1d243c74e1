"""Receptive fields: what of the input one unit sees, layer by layer, and what it looks at.

ReceptiveFieldView shows three pictures side by side. Left, the input of
the pass (one sample, the mean of its channels) with the theoretical field
of the chosen unit as seen through every conv and pool layer up to the
chosen node, nested and tagged with their sizes (the dilated stack: 3×3
inside 7×7 inside 15×15; bpviz.engine.receptive.nested_boxes, drawn by
receptive_boxes). Middle, the unit's effective field |∂unit/∂input| summed
over the input's channels, with its whole theoretical box dashed over it.
Right, one channel of the node's feature map: click a unit to choose it.
The pictures are drawn by ReceptiveDrawing (bpviz.ui.stepping.receptive_drawing).

Before any pass (`set_session(None)` with a `geometry` source: the graph's
ops without weights, bpviz.graph.geometry) the boxes are drawn on a blank
grid of the input's size and the map is a blank grid of the node's size,
so the theoretical fields can be explored while editing. With a pass, a new
node opens on `StepSession.alive_unit`'s unit (the one nearest the centre
whose effective field is not zero, in the channel that sees most; for a
big pass, whose effective fields run on a worker, the centre unit in the
channel where it is largest).
`unit_selected(node, i, j)` reports each chosen unit. The background and
titles follow the app's theme.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine.executor import Network
from bpviz.engine.receptive import per_sample_shapes, receptive_fields
from bpviz.engine.stepping import StepSession
from bpviz.ui.stepping.plot_theme import follow_theme, plot_colours
from bpviz.ui.stepping.receptive_boxes import (
    NestedBoxItems,
    legend_html,
    outlined,
)
from bpviz.ui.stepping.receptive_drawing import OUTER_COLOUR, UNIT_COLOUR, ReceptiveDrawing

Geometry = Callable[[], Network | None]


class ReceptiveFieldView(ReceptiveDrawing, QWidget):
    unit_selected = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: StepSession | None = None
        self.network: Network | None = None  # the session's, or the graph's geometry
        self.geometry: Geometry | None = None  # the graph's ops when there is no pass
        self.unit: tuple[int, int] | None = None
        self.effective: np.ndarray | None = None
        self._stale = False  # the geometry changed while the view was hidden
        self._build_controls()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.controls)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.status)
        self.set_session(None)
        follow_theme(self.apply_theme)

    def apply_theme(self, theme) -> None:
        colours = plot_colours(theme)
        self._text_colour = colours.text
        self.grid.setBackground(colours.background)
        for title in (self.input_title, self.effective_title, self.map_title):
            title.setText(title.text, color=colours.text)
        self.legend.setText(legend_html(self.boxes.boxes, colours.text))

    def _build_controls(self) -> None:
        self.node = QComboBox()
        self.node.setObjectName("rf_node")
        # As wide as its longest node id: ids differ at their ends ("maxpool2d_1").
        self.node.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.node.setMinimumContentsLength(8)
        self.node.currentTextChanged.connect(self._node_changed)
        self.node.currentTextChanged.connect(self.node.setToolTip)
        self.channel = QSpinBox()
        self.channel.setPrefix("channel ")
        self.sample = QSpinBox()
        self.sample.setPrefix("sample ")
        self.show_effective = QCheckBox("effective field |∂unit/∂x|")
        self.show_effective.setChecked(True)
        for spin in (self.channel, self.sample):
            spin.valueChanged.connect(self._refresh)
        self.show_effective.toggled.connect(self._refresh)
        self.controls = QHBoxLayout()
        for widget in (QLabel("node"), self.node, self.channel, self.sample,
                       self.show_effective):
            self.controls.addWidget(widget)
        self.controls.addStretch(1)
        self.legend = QLabel(" ")
        self.legend.setObjectName("rf_legend")
        self.legend.setWordWrap(True)
        self.status = QLabel(" ")
        self.status.setObjectName("rf_status")
        self.status.setWordWrap(True)
        self._text_colour = "#000000"

    def _build_plots(self) -> None:
        self.grid = pg.GraphicsLayoutWidget()
        self.input_title = self.grid.addLabel("input", row=0, col=0)
        self.effective_title = self.grid.addLabel("effective field", row=0, col=1)
        self.map_title = self.grid.addLabel("feature map", row=0, col=2)
        for column, title in enumerate((self.input_title, self.effective_title,
                                        self.map_title)):
            title.setMaximumHeight(22)
            # NOTE: a long title must not widen its column: the three pictures share alike.
            title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.grid.ci.layout.setColumnStretchFactor(column, 1)
        self.input_box = self._view_box(1, 0)
        self.effective_box = self._view_box(1, 1)
        self.map_box = self._view_box(1, 2)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.input_image.setLookupTable(pg.colormap.get("CET-L1").getLookupTable(nPts=256))
        self.input_box.addItem(self.input_image)
        self.boxes = NestedBoxItems(self.input_box)
        self.overlay = pg.ImageItem(axisOrder="row-major")  # the effective field
        self.overlay.setLookupTable(pg.colormap.get("inferno").getLookupTable(nPts=256))
        self.box_item = outlined(OUTER_COLOUR, dashed=True)  # the node's own field
        for item in (self.overlay, self.box_item):
            self.effective_box.addItem(item)
        self.map_image = pg.ImageItem(axisOrder="row-major")
        self._viridis = pg.colormap.get("viridis").getLookupTable(nPts=256)
        self._grey = pg.colormap.get("CET-L1").getLookupTable(nPts=256)
        self.map_image.setLookupTable(self._viridis)
        self.unit_item = outlined(UNIT_COLOUR)
        for item in (self.map_image, self.unit_item):
            self.map_box.addItem(item)
        self.grid.scene().sigMouseClicked.connect(self._clicked)

    def _view_box(self, row: int, col: int) -> pg.ViewBox:
        return self.grid.addViewBox(row=row, col=col, lockAspect=True, invertY=True,
                                    enableMouse=False, enableMenu=False)

    # -- public -------------------------------------------------------------------
    def set_session(self, session: StepSession | None) -> None:
        """Show another pass (None: the graph's theoretical fields, when a `geometry`
        source is set); keeps the chosen node when it has a field there too. Drawn
        when in sight: a new node's unit and effective field take backward passes."""
        self.session = session
        if session is None and self.geometry is None:
            self._stale = False
            self._use(None)
            return
        self._stale = True
        if session is None:
            QTimer.singleShot(0, self.catch_up)  # after the edit that dropped the pass
        elif self.in_sight():
            self.catch_up()

    def in_sight(self) -> bool:
        """Shown and not behind another tab of its dock area (NOTE: such a tab still
        says isVisible(); only its visible region is empty)."""
        return self.isVisible() and not self.visibleRegion().isEmpty()

    def set_geometry(self, geometry: Geometry | None) -> None:
        """Where the graph's ops come from while there is no pass (None: nowhere)."""
        self.geometry = geometry
        if self.session is None:
            self._stale = True
            if self.in_sight():
                self.catch_up()

    def catch_up(self) -> None:
        """Draw the pass, or the graph's theoretical fields, if they changed."""
        if not self._stale:
            return
        self._stale = False
        if self.session is not None:
            self._use(self.session.network)
        elif self.geometry is not None:
            self._use(self.geometry())

    def set_node(self, node_id: str) -> None:
        self.node.setCurrentText(node_id)

    def nodes(self) -> list[str]:
        return [self.node.itemText(k) for k in range(self.node.count())]

    def select_unit(self, i: int, j: int) -> None:
        """Show unit (i, j) of the chosen node's map: its boxes and its effective field."""
        self.unit = (i, j)
        self._refresh()
        self.unit_selected.emit(self.node.currentText(), i, j)

    def box_rect(self) -> tuple[float, float, float, float] | None:
        """The node's own theoretical field as (top, left, height, width) in input pixels."""
        if not self.box_item.isVisible():
            return None
        rect = self.box_item.rect()
        return rect.top(), rect.left(), rect.height(), rect.width()

    def nested_rects(self) -> list[tuple[float, float, float, float]]:
        """The nested boxes drawn on the input, smallest first."""
        return self.boxes.rects()

    def unit_scene_pos(self, i: int, j: int):
        """Where unit (i, j)'s centre is on screen, in the grid's viewport coordinates."""
        scene = self.map_box.mapViewToScene(pg.Point(j + 0.5, i + 0.5))
        return self.grid.mapFromScene(scene)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        QTimer.singleShot(0, self.catch_up)

    # -- choosing -----------------------------------------------------------------
    def _use(self, network: Network | None) -> None:
        """Fill the node list from `network`; open the chosen (or deepest) node."""
        self.network = network
        nodes = spatial_nodes(network) if network is not None else []
        kept = self.node.currentText()
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItems(nodes)
        self.node.blockSignals(False)
        self.setEnabled(bool(nodes))
        self.sample.setEnabled(self.session is not None)
        if not nodes:
            self._blank()
            self.status.setText("no feature maps with a receptive field in this graph"
                                if network is not None else "no pass yet")
            return
        if self.session is not None:
            batch = self.session.feeds[self.session.network.inputs[0]].shape[0]
            self.sample.setRange(0, batch - 1)
        chosen = kept if kept in nodes else nodes[-1]
        self.node.blockSignals(True)
        self.node.setCurrentText(chosen)
        self.node.blockSignals(False)
        self.node.setToolTip(chosen)
        self._node_changed(chosen)

    def _blank(self) -> None:
        """Nothing of an earlier pass stays in sight."""
        self.unit, self.effective = None, None
        for image in (self.input_image, self.map_image, self.overlay):
            image.clear()
        self.boxes.clear()
        for item in (self.box_item, self.unit_item):
            item.setVisible(False)
        self.legend.setText(" ")
        self.legend.setToolTip("")
        self.input_title.setText("input")
        self.effective_title.setText("effective field")
        self.map_title.setText("feature map")

    def _node_changed(self, node_id: str) -> None:
        if self.network is None or not node_id:
            return
        channels, h, w = self._map_shape(node_id)
        self.channel.blockSignals(True)
        self.channel.setRange(0, channels - 1)
        self.channel.blockSignals(False)
        self.map_box.setRange(QRectF(0, 0, w, h), padding=0.02)
        if self.session is None:
            self.select_unit(h // 2, w // 2)
            return
        if self.heavy():  # NOTE: a search would take a backward pass per unit tried
            channel, i, j = brightest_centre(self.session.output(node_id)[self.sample.value()])
        else:
            channel, i, j = self.session.alive_unit(node_id, self.sample.value())
        self.channel.blockSignals(True)
        self.channel.setValue(channel)
        self.channel.blockSignals(False)
        self.select_unit(i, j)

    def _map_shape(self, node_id: str) -> tuple[int, int, int]:
        if self.session is not None:
            return self.session.output(node_id).shape[1:]
        shape = per_sample_shapes(self.network)[node_id]
        return shape[0], shape[1], shape[2]

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.network is None:
            return
        pos = event.scenePos()
        if not self.map_box.sceneBoundingRect().contains(pos) or not self.node.currentText():
            return
        point = self.map_box.mapSceneToView(pos)
        i, j = int(np.floor(point.y())), int(np.floor(point.x()))
        _, h, w = self._map_shape(self.node.currentText())
        if 0 <= i < h and 0 <= j < w:
            self.select_unit(i, j)


def brightest_centre(maps: np.ndarray) -> tuple[int, int, int]:
    """(channel, i, j): the centre unit of [C, H, W] maps, in the channel where it is
    largest (a ReLU unit above zero passes its gradient on)."""
    i, j = (maps.shape[1] - 1) // 2, (maps.shape[2] - 1) // 2
    return int(np.argmax(maps[:, i, j])), i, j


def spatial_nodes(network: Network) -> list[str]:
    """Nodes with a theoretical field and [C, H, W] outputs, input nodes excluded."""
    fields = receptive_fields(network.order)
    shapes = per_sample_shapes(network)
    return [node.id for node in network.order
            if node.op.op_name != "input" and fields.get(node.id) is not None
            and len(shapes[node.id]) == 3]
