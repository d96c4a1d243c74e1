"""Receptive fields: click a unit of a feature map, see what of the input it sees.

ReceptiveFieldView shows the input image (one channel of one sample) beside
one channel of a chosen node's feature map. Clicking a unit (i, j) of the map
draws its theoretical receptive field on the input as a rectangle (clipped
to the image) and lays the effective field |∂unit/∂input|, summed over the
input's channels, over the image as a heat overlay. `unit_selected(node, i,
j)` reports each click. The background and titles follow the app's theme.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine.shape_text import square_text
from bpviz.engine.stepping import StepSession
from bpviz.ui.stepping.plot_theme import follow_theme, plot_colours

BOX_COLOUR = "#00e5ff"
UNIT_COLOUR = "#ff2d55"


def heat_lut() -> np.ndarray:
    """'inferno' with an alpha ramp: zero is transparent, the maximum nearly opaque."""
    lut = pg.colormap.get("inferno").getLookupTable(nPts=256, alpha=True)
    lut[:, 3] = np.linspace(0, 215, 256).astype(lut.dtype)
    return lut


def rect_item(colour: str, width: float) -> QGraphicsRectItem:
    item = QGraphicsRectItem()
    pen = QPen(QColor(colour))
    pen.setWidthF(width)
    pen.setCosmetic(True)
    item.setPen(pen)
    item.setZValue(10)
    item.setVisible(False)
    return item


class ReceptiveFieldView(QWidget):
    unit_selected = Signal(str, int, int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: StepSession | None = None
        self.unit: tuple[int, int] | None = None
        self.effective: np.ndarray | None = None
        self._build_controls()
        self._build_plots()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(self.controls)
        layout.addWidget(self.grid, 1)
        layout.addWidget(self.status)
        self.set_session(None)
        follow_theme(self.apply_theme)

    def apply_theme(self, theme) -> None:
        colours = plot_colours(theme)
        self.grid.setBackground(colours.background)
        for title in (self.input_title, self.map_title):
            title.setText(title.text, color=colours.text)

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
        self.status = QLabel(" ")
        self.status.setObjectName("rf_status")
        self.status.setWordWrap(True)

    def _build_plots(self) -> None:
        self.grid = pg.GraphicsLayoutWidget()
        self.input_title = self.grid.addLabel("input", row=0, col=0)
        self.map_title = self.grid.addLabel("feature map", row=0, col=1)
        for title in (self.input_title, self.map_title):
            title.setMaximumHeight(22)
        self.input_box = self._view_box(1, 0)
        self.map_box = self._view_box(1, 1)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.input_image.setLookupTable(pg.colormap.get("CET-L1").getLookupTable(nPts=256))
        self.overlay = pg.ImageItem(axisOrder="row-major")
        self.overlay.setLookupTable(heat_lut())
        self.overlay.setZValue(5)
        self.box_item = rect_item(BOX_COLOUR, 2.5)
        for item in (self.input_image, self.overlay, self.box_item):
            self.input_box.addItem(item)
        self.map_image = pg.ImageItem(axisOrder="row-major")
        self.map_image.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.unit_item = rect_item(UNIT_COLOUR, 2.5)
        for item in (self.map_image, self.unit_item):
            self.map_box.addItem(item)
        self.grid.scene().sigMouseClicked.connect(self._clicked)

    def _view_box(self, row: int, col: int) -> pg.ViewBox:
        return self.grid.addViewBox(row=row, col=col, lockAspect=True, invertY=True,
                                    enableMouse=False, enableMenu=False)

    # -- public -------------------------------------------------------------------
    def set_session(self, session: StepSession | None) -> None:
        """Show another pass; picks its deepest spatial node and that node's centre unit."""
        self.session = session
        nodes = session.spatial_nodes() if session is not None else []
        self.node.blockSignals(True)
        self.node.clear()
        self.node.addItems(nodes)
        self.node.blockSignals(False)
        self.setEnabled(bool(nodes))
        if nodes:
            batch = session.feeds[session.network.inputs[0]].shape[0]
            self.sample.setRange(0, batch - 1)
            self.node.setCurrentIndex(len(nodes) - 1)
            self._node_changed(nodes[-1])
        else:
            self._blank()
            self.status.setText("no feature maps with a receptive field in this graph"
                                if session is not None else "no pass yet")

    def _blank(self) -> None:
        """Nothing of an earlier pass stays in sight."""
        self.unit, self.effective = None, None
        for image in (self.input_image, self.map_image, self.overlay):
            image.clear()
        for item in (self.box_item, self.unit_item):
            item.setVisible(False)
        self.input_title.setText("input")
        self.map_title.setText("feature map")

    def set_node(self, node_id: str) -> None:
        self.node.setCurrentText(node_id)

    def select_unit(self, i: int, j: int) -> None:
        """Show unit (i, j) of the chosen node's map: its boxes and its effective field."""
        self.unit = (i, j)
        self._refresh()
        self.unit_selected.emit(self.node.currentText(), i, j)

    def box_rect(self) -> tuple[float, float, float, float] | None:
        """The drawn theoretical field as (top, left, height, width) in input pixels."""
        if not self.box_item.isVisible():
            return None
        rect = self.box_item.rect()
        return rect.top(), rect.left(), rect.height(), rect.width()

    def unit_scene_pos(self, i: int, j: int):
        """Where unit (i, j)'s centre is on screen, in the grid's viewport coordinates."""
        scene = self.map_box.mapViewToScene(pg.Point(j + 0.5, i + 0.5))
        return self.grid.mapFromScene(scene)

    # -- drawing ------------------------------------------------------------------
    def _node_changed(self, node_id: str) -> None:
        if self.session is None or not node_id:
            return
        _, channels, h, w = self.session.output(node_id).shape
        self.channel.blockSignals(True)
        self.channel.setRange(0, channels - 1)
        self.channel.blockSignals(False)
        self.map_box.setRange(QRectF(0, 0, w, h), padding=0.02)
        self.select_unit(h // 2, w // 2)

    def _refresh(self, *_) -> None:
        if self.session is None or self.unit is None or not self.node.currentText():
            return
        node, sample, channel = self.node.currentText(), self.sample.value(), self.channel.value()
        self._draw_input(sample)
        feature = self.session.output(node)[sample, channel]
        self.map_image.setImage(feature, autoLevels=True)
        i, j = self.unit
        self.unit_item.setRect(QRectF(j, i, 1, 1))
        self.unit_item.setVisible(True)
        self.map_title.setText(f"{node} · channel {channel} · click a unit", size="11pt")
        box = self.session.receptive_box(node, i, j)
        if box is not None:
            top, left, height, width = box
            self.box_item.setRect(QRectF(left, top, width, height))
        self.box_item.setVisible(box is not None)
        self._draw_effective(node, sample, channel, i, j)
        self.status.setText(self._describe(node, i, j, box))

    def _draw_input(self, sample: int) -> None:
        input_id = self.session.network.inputs[0]
        image = self.session.feeds[input_id][sample, 0]
        self.input_image.setImage(image, autoLevels=True)
        self.input_box.setRange(QRectF(0, 0, image.shape[1], image.shape[0]), padding=0.02)
        self.input_title.setText(f"input {input_id} · sample {sample} · channel 0", size="11pt")

    def _draw_effective(self, node: str, sample: int, channel: int, i: int, j: int) -> None:
        if not self.show_effective.isChecked():
            self.overlay.setVisible(False)
            self.effective = None
            return
        field = self.session.effective_receptive_field(node, sample, channel, i, j)
        self.effective = field.sum(axis=0)
        top = float(self.effective.max())
        self.overlay.setImage(self.effective, levels=(0, top if top > 0 else 1))
        self.overlay.setVisible(True)

    def _describe(self, node: str, i: int, j: int, box) -> str:
        field = self.session.fields()[node]
        text = (f"unit ({i}, {j}) of {node}: theoretical field "
                f"{square_text(field.size)} (jump {field.stride[0]}), ")
        if box is not None:
            top, left, height, width = box
            text += f"rows {top}–{top + height - 1}, cols {left}–{left + width - 1} on the image"
        if self.effective is not None:
            rows, cols = np.nonzero(self.effective)
            if rows.size:
                text += (f" · effective field (|∂unit/∂x| > 0): "
                         f"{rows.max() - rows.min() + 1}×{cols.max() - cols.min() + 1}")
            else:
                text += " · effective field: all zero (the unit is dead for this sample)"
        return text

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.session is None:
            return
        pos = event.scenePos()
        if not self.map_box.sceneBoundingRect().contains(pos):
            return
        point = self.map_box.mapSceneToView(pos)
        i, j = int(np.floor(point.y())), int(np.floor(point.x()))
        _, _, h, w = self.session.output(self.node.currentText()).shape
        if 0 <= i < h and 0 <= j < w:
            self.select_unit(i, j)
