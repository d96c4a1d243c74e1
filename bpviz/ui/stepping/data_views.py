"""The data of a pass in the Tensors panel: the batch as pictures, the target beside ŷ.

BatchImages shows an input batch [N, C, H, W] with C = 1 (grey) or 3 (RGB)
as a grid of pictures, one per sample (at most MAX_IMAGES), titled with its
label when the pass has class labels; the grey levels run from the batch's
smallest to its largest value in each picture (a standardised or random
batch has no fixed range). Samples drawn at random (no data loaded:
`random_samples`) are titled so, their labels too, under a heading that
says so: noise is not a picture of its label.

TargetView shows, at a loss step, what the loss compares for one sample:
for softmax cross-entropy the class probabilities ŷ = softmax(z) as bars
with the target class y marked and named, and the batch's labels beside its
predicted classes; for the other losses ŷ (σ(z) for BCE with logits) and y
as pairs of bars (the first MAX_PAIRS values of the sample).

`is_image_batch`, `class_labels` and `compare_text` need no Qt.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics

from bpviz.ui.stepping.plot_theme import plot_colours, style_plot

MAX_IMAGES = 64
MAX_PAIRS = 64
PREDICTION_COLOUR = "#0072B2"  # blue (Okabe–Ito)
TARGET_COLOUR = "#E69F00"  # orange
TITLE_MARGIN = 90  # pixels of the widget's width the title leaves free (layout margins)
TITLE_MIN_WIDTH = 80


def is_image_batch(array: np.ndarray) -> bool:
    return array.ndim == 4 and array.shape[1] in (1, 3) and min(array.shape[2:]) > 1


def class_labels(session, names: tuple[str, ...] | None = None) -> list[str] | None:
    """The class label of each sample of a pass whose loss is a softmax
    cross-entropy (names[k] when given), or None."""
    for loss in session.network.losses:
        if session.network.nodes[loss].op.op_name == "softmax_cross_entropy":
            y = np.asarray(session.targets.get(loss, []))
            return [names[int(k)] if names and 0 <= k < len(names) else str(int(k)) for k in y]
    return None


def random_samples(built) -> range:
    """The samples of a pass's batch drawn at random from the seed (no data loaded):
    all of them, or all but sample 0 when that is a picture of the user's; none
    when the batch comes from data."""
    from bpviz.workspace.sources import RANDOM_BATCH

    if built is None or not built.batch.endswith(RANDOM_BATCH):
        return range(0)
    count = len(built.session.feeds[built.session.network.inputs[0]])
    return range(1 if built.spec.image is not None else 0, count)


def dataset_names(built) -> tuple[str, ...] | None:
    """The class names of the data a pass runs on, where they are more than numbers."""
    from bpviz.data.images import SHAPE_NAMES

    source = built.spec.weights if built is not None else None
    data = source.data if source is not None else None
    return SHAPE_NAMES if data is not None and data.dataset == "shapes" else None


def predicted(loss_op: str, prediction: np.ndarray) -> np.ndarray:
    """ŷ as the loss sees it: σ(z) for BCE with logits, else its input."""
    if loss_op == "bce_with_logits":
        return 1.0 / (1.0 + np.exp(-np.asarray(prediction, dtype=float)))
    return np.asarray(prediction, dtype=float)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def compare_text(loss_op: str, prediction: np.ndarray, target: np.ndarray, sample: int,
                 names: tuple[str, ...] | None = None) -> str:
    """One line on what the loss compares for `sample` (and the batch's classes)."""
    def name(k: int) -> str:
        return f"{k} ({names[k]})" if names and 0 <= k < len(names) and names[k] != str(k) \
            else str(k)

    if loss_op == "softmax_cross_entropy":
        p = softmax(prediction[sample].astype(float))
        y, best = int(target[sample]), int(np.argmax(p))
        batch = ", ".join(f"{int(t)}→{int(np.argmax(row))}" for t, row in
                          zip(target[:16], prediction[:16]))
        return (f"sample {sample}: y = {name(y)} · ŷ = softmax(z) picks {name(best)} "
                f"({p[best]:.3g}), ŷ_y = {p[y]:.3g} · batch y→argmax ŷ: {batch}")
    error = np.abs(predicted(loss_op, prediction[sample]) - target[sample])
    return (f"sample {sample}: ŷ and y of {prediction[sample].size} values · largest "
            f"|ŷ − y| = {error.max():.4g}")


class BatchImages(pg.GraphicsLayoutWidget):
    """The samples of an image batch as pictures, with their labels."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours = plot_colours()
        self.setBackground(self.colours.background)
        self.images: list[pg.ImageItem] = []
        self.titles: list[str] = []
        self.heading = ""  # what the pictures are, when they are noise

    def apply_theme(self, theme) -> None:
        self.colours = plot_colours(theme)
        self.setBackground(self.colours.background)

    def show_batch(self, batch: np.ndarray, labels: list[str] | None = None,
                   random: range = range(0)) -> None:  # noqa: B008 - an immutable range
        """The pictures; `random`: the samples drawn at random (no data loaded)."""
        self.clear()
        self.images, self.titles = [], []
        self.heading = ""
        count = min(len(batch), MAX_IMAGES)
        if count == 0:
            return
        height, width = batch.shape[2:]
        area = max(self.width(), 200) / max(self.height(), 120)
        columns = max(1, min(count, round(math.sqrt(count * area * height / width))))
        top = 0
        if len(random):
            some = ("" if len(random) == len(batch)
                    else f"samples {random.start}–{random.stop - 1}: ")
            self.heading = (f"random input, no data loaded: {some}noise drawn from the seed, "
                            f"its labels too")
            self.addLabel(self.heading, row=0, col=0, colspan=columns, color=self.colours.text,
                          size="10pt", bold=True)
            top = 1
        for k in range(count):
            row, col = divmod(k, columns)
            label = f"y = {labels[k]}" if labels and k < len(labels) else ""
            if k in random:
                label = "random" + (f", {label}" if label else "")
            title = f"sample {k}" + (f" · {label}" if label else "")
            self.titles.append(title)
            self.addLabel(title, row=top + 2 * row, col=col, color=self.colours.text,
                          size="9pt")
            box = self.addViewBox(row=top + 2 * row + 1, col=col, lockAspect=True,
                                  invertY=True, enableMouse=False, enableMenu=False)
            low, high = float(batch[k].min()), float(batch[k].max())
            picture = (batch[k] - low) / (high - low if high > low else 1.0)
            if picture.shape[0] == 3:
                image = pg.ImageItem(np.round(picture.transpose(1, 2, 0) * 255)
                                     .astype(np.uint8), axisOrder="row-major", levels=(0, 255))
            else:
                image = pg.ImageItem(picture[0], axisOrder="row-major", levels=(0.0, 1.0))
            box.addItem(image)
            box.setRange(xRange=(0, width), yRange=(0, height), padding=0.02)
            self.images.append(image)


class TargetView(pg.GraphicsLayoutWidget):
    """ŷ beside y at a loss step, for one sample."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.colours = plot_colours()
        self.setBackground(self.colours.background)
        self.plot = self.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        style_plot(self.plot, self.colours)
        self.text = ""
        self.marked: int | None = None  # the target class marked (cross-entropy)

    def apply_theme(self, theme) -> None:
        self.colours = plot_colours(theme)
        self.setBackground(self.colours.background)
        style_plot(self.plot, self.colours)

    def show_pair(self, loss_op: str, prediction: np.ndarray, target: np.ndarray, sample: int,
                  names: tuple[str, ...] | None = None) -> None:
        plot = self.plot
        plot.clear()
        self.marked = None
        self.text = compare_text(loss_op, prediction, target, sample, names)
        self._show_title()
        if loss_op == "softmax_cross_entropy":
            p = softmax(prediction[sample].astype(float))
            y = int(target[sample])
            brushes = [TARGET_COLOUR if k == y else PREDICTION_COLOUR for k in range(p.size)]
            plot.addItem(pg.BarGraphItem(x=np.arange(p.size), height=p, width=0.7,
                                         brushes=brushes, pen=pg.mkPen(self.colours.line)))
            label = pg.TextItem(f"y = {names[y] if names and y < len(names) else y}",
                                color=TARGET_COLOUR, anchor=(0.5, 1.0))
            label.setFont(QFont("DejaVu Sans", 10, QFont.Weight.Bold))
            label.setPos(y, p[y])
            plot.addItem(label)
            plot.setYRange(0, 1.12, padding=0)
            plot.setLabel("left", "ŷ = softmax(z)")
            self._ticks(p.size, names)
            self.marked = y
            return
        yhat = np.ravel(predicted(loss_op, prediction[sample]))[:MAX_PAIRS]
        y = np.ravel(target[sample])[:MAX_PAIRS].astype(float)
        x = np.arange(yhat.size)
        plot.addItem(pg.BarGraphItem(x=x - 0.2, height=yhat, width=0.38,
                                     brush=PREDICTION_COLOUR, name="ŷ"))
        plot.addItem(pg.BarGraphItem(x=x + 0.2, height=y, width=0.38, brush=TARGET_COLOUR,
                                     name="y"))
        legend = plot.addLegend(offset=(-10, 10))
        legend.clear()
        legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0, brush=PREDICTION_COLOUR), "ŷ")
        legend.addItem(pg.BarGraphItem(x=[0], height=[0], width=0, brush=TARGET_COLOUR), "y")
        plot.setLabel("left", "ŷ (blue) and y (orange)")
        plot.enableAutoRange()
        self._ticks(yhat.size, None)

    def _show_title(self) -> None:
        """The comparison line, elided to the widget's width: a whole long line would
        widen the plot past the panel and cut off the last classes."""
        font = QFont(self.font())
        font.setPointSize(9)
        room = max(TITLE_MIN_WIDTH, self.width() - TITLE_MARGIN)
        title = QFontMetrics(font).elidedText(self.text, Qt.TextElideMode.ElideRight, room)
        self.plot.setTitle(title, size="9pt", color=self.colours.text)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if getattr(self, "text", ""):  # Qt resizes it while it is being made too
            self._show_title()
        super().resizeEvent(event)

    def _ticks(self, size: int, names: tuple[str, ...] | None) -> None:
        bottom = self.plot.getAxis("bottom")
        if size <= 24:
            bottom.setTicks([[(k, names[k] if names and k < len(names) else str(k))
                              for k in range(size)], []])
        else:
            bottom.setTicks(None)
