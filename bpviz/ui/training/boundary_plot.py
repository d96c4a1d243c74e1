"""The decision-boundary plot: the network's class regions under the data points.

The job sends a BoundaryImage (bpviz.ui.training.boundary): the regions as a
small RGBA picture, drawn with smooth (bilinear) scaling, and the boundary as
line segments between the grid's points, drawn as an antialiased line in the
theme's text colour, so neither shows the grid's steps.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QPainter

from bpviz.scene.theme import current_theme, theme_manager
from bpviz.ui.training.boundary import BoundaryImage, class_colour
from bpviz.ui.training.curves import TrainingPlot

LINE_WIDTH = 1.6
NOTE_WIDTH = 230  # px: the note's widest lines
NOTE_MIN_WIDTH = 80  # px
NOTE_MARGIN = 8  # px each side of the note in a narrow view


class BoundaryPlot(TrainingPlot):
    """The network's decision regions with the data on top (2-D data only)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Decision boundary", "x₂", parent)
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        item = self.getPlotItem()
        item.setLabel("bottom", "x₁")
        self.legend.hide()
        self.image = pg.ImageItem(axisOrder="row-major")
        item.addItem(self.image)
        self.line = pg.PlotCurveItem(antialias=True)
        item.addItem(self.line)
        self.points = pg.ScatterPlotItem(size=6, pxMode=True)
        item.addItem(self.points)
        self.note = pg.TextItem("", anchor=(0.5, 0.5), color=current_theme().muted)
        item.addItem(self.note)
        self.last: BoundaryImage | None = None
        theme_manager().changed.connect(self._redraw)
        item.vb.sigResized.connect(self._fit_note)
        self.show_note("2-D data only: the boundary appears while training on "
                       "xor, circles, moons, spiral or blobs")

    def show_note(self, text: str) -> None:
        self.image.clear()
        self.line.setData([], [])
        self.points.setData([])
        self.last = None
        self.note.setText(text)
        self._fit_note()
        self.note.setPos(0.5, 0.5)
        self.getPlotItem().setRange(xRange=(0, 1), yRange=(0, 1), padding=0)

    def _fit_note(self, *_view) -> None:
        """The note wraps inside the view, however narrow."""
        room = self.getPlotItem().vb.width() - 2 * NOTE_MARGIN
        self.note.setTextWidth(max(NOTE_MIN_WIDTH, min(NOTE_WIDTH, room)))

    def _redraw(self, _theme=None) -> None:
        self.note.setColor(current_theme().muted)
        if self.last is not None:
            self.set_boundary(self.last)

    def set_points(self, x: np.ndarray, y: np.ndarray) -> None:
        self.note.setText("")
        palette = {k: pg.mkBrush(class_colour(int(k))) for k in np.unique(y)}
        brushes = [palette[k] for k in y]  # shared: one symbol picture per class
        self.points.setData(x[:, 0], x[:, 1], brush=brushes, pen=pg.mkPen("#ffffff", width=0.8))
        low, high = x.min(axis=0), x.max(axis=0)
        self.getPlotItem().setRange(xRange=(low[0], high[0]), yRange=(low[1], high[1]))

    def set_boundary(self, boundary: BoundaryImage) -> None:
        self.last = boundary
        self.image.setImage(boundary.rgba, autoLevels=False, levels=(0, 255))
        self.image.setRect(*boundary.extent)
        lines = boundary.lines
        self.line.setData(lines[:, 0], lines[:, 1], connect="pairs",
                          pen=pg.mkPen(QColor(current_theme().text), width=LINE_WIDTH))
        x0, y0, width, height = boundary.extent
        self.getPlotItem().setRange(xRange=(x0, x0 + width), yRange=(y0, y0 + height),
                                    padding=0)
