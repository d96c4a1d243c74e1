"""The receptive-field panel's three pictures for one unit, and the status line.

`ReceptiveDrawing` is mixed into ReceptiveFieldView
(bpviz.ui.stepping.receptive_view), whose network, session, controls and
plot items it draws into: the input (one sample, the mean of its channels;
a blank grid before any pass) with the nested theoretical boxes, the unit's
effective field |∂unit/∂x| summed over the input's channels with the node's
own box dashed over it, and one channel of the node's feature map with the
unit outlined. The effective field is a backward pass: for a big pass (more
than HEAVY_VALUES values in its outputs: VGG16 takes seconds) it runs on a
worker, one at a time, the latest unit asked for drawn when it comes back,
while the boxes and the map are drawn at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor

from bpviz.engine.receptive import field_box, field_input, nested_boxes, receptive_fields
from bpviz.engine.receptive import spatial_shapes as spatial_sizes
from bpviz.engine.shape_text import square_text
from bpviz.ui.stepping.receptive_boxes import box_colour, legend_html, legend_tooltip
from bpviz.ui.thread_job import Job

HEAVY_VALUES = 2_000_000  # values in a pass's outputs beyond which a field runs on a worker
UNIT_COLOUR = "#ff2d55"
OUTER_COLOUR = "#00e5ff"


def blank_grid(height: int, width: int) -> np.ndarray:
    """A faint checkerboard: one square per pixel, nothing measured yet."""
    rows, cols = np.indices((height, width))
    return ((rows + cols) % 2).astype(float) * 0.12 + 0.8


class ReceptiveDrawing:
    """Draws the chosen unit of the chosen node (`_refresh`) for ReceptiveFieldView."""

    _field_job: Job | None = None  # the effective field being made on a worker
    _field_wanted: tuple | None = None  # (session, node, sample, channel, i, j) to show
    _heavy_for: object = None
    _heavy = False
    _described: tuple = ()
    synchronous: Callable[[], bool] = staticmethod(lambda: False)  # snapshots, tests

    def _refresh(self, *_) -> None:
        if self.network is None or self.unit is None or not self.node.currentText():
            return
        node, sample, channel = self.node.currentText(), self.sample.value(), self.channel.value()
        source = field_input(self.network, node)
        image = self._input_picture(source, sample)
        if self.session is None:
            self.input_image.setImage(image, levels=(0, 1))
        else:
            self.input_image.setImage(image, autoLevels=True)
        height, width = image.shape
        for box in (self.input_box, self.effective_box):
            box.setRange(QRectF(0, 0, width, height), padding=0.02)
        i, j = self.unit
        self._draw_map(node, sample, channel)
        boxes = nested_boxes(self.network, node, i, j)
        self.boxes.show(boxes, QRectF(0, 0, width, height))
        self.legend.setText(legend_html(boxes, self._text_colour))
        self.legend.setToolTip(legend_tooltip(boxes))
        field = receptive_fields(self.network.order)[node]
        box = field_box(field, i, j, (height, width))
        top, left, box_h, box_w = box
        self.box_item.setRect(QRectF(left, top, box_w, box_h))
        pen = self.box_item.pen()
        pen.setColor(QColor(box_colour(len(boxes) - 1) if boxes else OUTER_COLOUR))
        self.box_item.setPen(pen)
        self.box_item.setVisible(True)
        self._described = (node, i, j, box, field)
        self._draw_effective(node, sample, channel, i, j, (height, width))
        self.status.setText(self._describe(*self._described))

    def _input_picture(self, source: str, sample: int) -> np.ndarray:
        if self.session is None:
            self.input_title.setText(f"input {source}: theoretical fields", size="11pt")
            return blank_grid(*spatial_sizes(self.network)[source])
        values = np.asarray(self.session.feeds[source][sample], dtype=float)
        mean = " (mean of its channels)" if values.shape[0] > 1 else ""
        self.input_title.setText(f"input {source} · sample {sample}{mean}", size="11pt")
        return values.mean(axis=0)

    def _draw_map(self, node: str, sample: int, channel: int) -> None:
        if self.session is None:
            _, h, w = self._map_shape(node)
            self.map_image.setLookupTable(self._grey)
            self.map_image.setImage(blank_grid(h, w), levels=(0, 1))
        else:
            self.map_image.setLookupTable(self._viridis)
            self.map_image.setImage(self.session.output(node)[sample, channel], autoLevels=True)
        i, j = self.unit
        self.unit_item.setRect(QRectF(j, i, 1, 1))
        self.unit_item.setVisible(True)
        self.map_title.setText(f"{node} · ch {channel}: click a unit", size="11pt")

    def _draw_effective(self, node: str, sample: int, channel: int, i: int, j: int,
                        size: tuple[int, int]) -> None:
        self.effective = None
        if self.session is None or not self.show_effective.isChecked():
            self.overlay.setImage(np.zeros(size), levels=(0, 1))
            self.overlay.setVisible(False)
            why = "after a pass (F10)" if self.session is None else "off"
            self.effective_title.setText(f"effective field: {why}", size="11pt")
            return
        self.overlay.setVisible(True)
        wanted = (self.session, node, sample, channel, i, j)
        if not self.heavy() or self.synchronous():
            self._show_effective(wanted, self.session.effective_receptive_field(*wanted[1:]))
            return
        # A big pass: the backward pass runs on a worker, one at a time, the latest wins.
        self._field_wanted = wanted
        self.overlay.setImage(np.zeros(size), levels=(0, 1))
        self.effective_title.setText("effective field: a backward pass is running…",
                                     size="11pt")
        if self._field_job is None:
            self._start_field_job()

    def heavy(self) -> bool:
        """Whether an effective field of this pass takes too long for the UI thread."""
        session = self.session
        if session is None:
            return False
        if self._heavy_for is not session:
            values = sum(value.size for value in session.executor.values.values())
            self._heavy_for, self._heavy = session, values > HEAVY_VALUES
        return self._heavy

    def _start_field_job(self) -> None:
        wanted = self._field_wanted
        session = wanted[0]
        self._field_job = Job(session.effective_receptive_field, *wanted[1:], parent=self)
        self._field_job.finished.connect(lambda field: self._field_done(wanted, field))
        self._field_job.failed.connect(lambda _message: self._field_done(wanted, None))
        self._field_job.start()

    def _field_done(self, done: tuple, field: np.ndarray | None) -> None:
        self._field_job = None
        wanted = self._field_wanted
        if wanted is None or wanted[0] is not self.session:
            self._field_wanted = None
            return
        if wanted != done:
            self._start_field_job()  # the unit changed meanwhile
            return
        self._field_wanted = None
        if field is not None:
            self._show_effective(done, field)
            self.status.setText(self._describe(*self._described))

    def _show_effective(self, wanted: tuple, field: np.ndarray) -> None:
        _, node, _, channel, i, j = wanted
        self.effective = field.sum(axis=0)
        top = float(self.effective.max())
        self.overlay.setImage(self.effective, levels=(0, top if top > 0 else 1))
        self.effective_title.setText(f"|∂{node}[{channel},{i},{j}] / ∂x|", size="11pt")

    def _describe(self, node: str, i: int, j: int, box, field) -> str:
        top, left, height, width = box
        text = (f"unit ({i}, {j}) of {node}: theoretical field {square_text(field.size)} "
                f"(jump {field.stride[0]}), rows {top}–{top + height - 1}, "
                f"cols {left}–{left + width - 1} on the image")
        if self.session is None:
            return text + " · step through (F10) for the effective field on the real input"
        if self.effective is not None:
            rows, cols = np.nonzero(self.effective)
            if rows.size:
                text += (f" · effective field (|∂unit/∂x| > 0): "
                         f"{rows.max() - rows.min() + 1}×{cols.max() - cols.min() + 1}")
            else:
                text += " · effective field: all zero (the unit is dead for this sample)"
        return text
