"""The decision boundary of a network on 2-D data, as an RGB image (NumPy only).

A Grid covers the data's bounding box (plus a margin) with GRID_SIZE² points
in the data's own coordinates; `evaluate` feeds them, standardised as the
training data were, through the network in evaluation mode and colours each
pixel by the class probabilities: each class has a colour (Okabe–Ito,
colour-blind safe), mixed by probability and more transparent where the
network is unsure (the plot's background shows through); `edge` marks the
pixels where the predicted class changes, which the plot draws as a line in
the theme's text colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GRID_SIZE = 96
MARGIN = 0.1  # of the data's extent, on every side
CLASS_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9",
                 "#F0E442", "#000000")


def class_colour(k: int) -> str:
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))


@dataclass(frozen=True)
class BoundaryImage:
    rgba: np.ndarray  # [rows (y, bottom first), columns (x), 4] uint8
    edge: np.ndarray  # [rows, columns] bool: the predicted class changes here
    extent: tuple[float, float, float, float]  # x0, y0, width, height in data units
    iteration: int


def class_probabilities(pred: np.ndarray, loss_op: str) -> np.ndarray:
    """[N, K ≥ 2] probabilities from the scores [N, K] the loss reads."""
    pred = np.asarray(pred, dtype=np.float64)
    with np.errstate(all="ignore"):
        if pred.shape[1] == 1:
            p = pred[:, 0]
            p = 1 / (1 + np.exp(-p)) if loss_op == "bce_with_logits" else np.clip(p, 0, 1)
            return np.stack([1 - p, p], axis=1)
        if loss_op == "softmax_cross_entropy":
            shifted = np.exp(pred - pred.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        p = 1 / (1 + np.exp(-pred)) if loss_op == "bce_with_logits" else np.clip(pred, 0, 1)
        return p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)


def colour_image(probs: np.ndarray, rows: int, columns: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """([rows, columns, 4] uint8 RGBA: class colours mixed by probability, opaque where
    sure; [rows, columns] bool: where the predicted class changes)."""
    probs = np.nan_to_num(probs, nan=1 / probs.shape[1])
    k = probs.shape[1]
    colours = np.array([_rgb(class_colour(i)) for i in range(k)], dtype=np.float64)
    mixed = probs @ colours
    confidence = (probs.max(axis=1) - 1 / k) / (1 - 1 / k)
    alpha = 255 * (0.15 + 0.45 * np.clip(confidence, 0, 1))
    image = np.concatenate([mixed, alpha[:, None]], axis=1).reshape(rows, columns, 4)
    label = probs.argmax(axis=1).reshape(rows, columns)
    edge = np.zeros_like(label, dtype=bool)
    edge[:, 1:] |= label[:, 1:] != label[:, :-1]
    edge[1:, :] |= label[1:, :] != label[:-1, :]
    return np.clip(image, 0, 255).astype(np.uint8), edge


class Grid:
    """Points around 2-D data and the network to evaluate on them."""

    def __init__(self, network, extent: tuple[float, float, float, float], normalizer,
                 size: int = GRID_SIZE) -> None:
        from bpviz.data.fit import graph_io

        self.network, self.extent, self.size = network, extent, size
        self.ends = graph_io(network)
        x0, y0, width, height = extent
        xs = x0 + (np.arange(size) + 0.5) * width / size
        ys = y0 + (np.arange(size) + 0.5) * height / size
        gx, gy = np.meshgrid(xs, ys)  # row r holds y[r]: bottom row first
        points = np.stack([gx.ravel(), gy.ravel()], axis=1)
        if normalizer is not None:
            points = normalizer.apply(points)
        dtype = next(iter(network.parameters().values()), np.zeros(0)).dtype
        self.points = points.astype(dtype)

    @classmethod
    def around(cls, x: np.ndarray, network, normalizer, size: int = GRID_SIZE) -> Grid:
        low, high = x.min(axis=0), x.max(axis=0)
        span = np.maximum(high - low, 1e-6)
        low, span = low - MARGIN * span, span * (1 + 2 * MARGIN)
        extent = (float(low[0]), float(low[1]), float(span[0]), float(span[1]))
        return cls(network, extent, normalizer, size)

    def predict(self) -> np.ndarray:
        """The scores [size², K] in evaluation mode (the network is left training)."""
        from bpviz.engine.executor import Executor

        executor = Executor(self.network)
        self.network.set_training(False)
        try:
            with np.errstate(all="ignore"):
                for step in executor.forward({self.ends.input_id: self.points}):
                    if step.node == self.ends.pred_id:
                        return step.output
        finally:
            self.network.set_training(True)
        raise RuntimeError(f"node '{self.ends.pred_id}' was never computed")

    def evaluate(self, iteration: int) -> BoundaryImage:
        probs = class_probabilities(self.predict(), self.ends.loss_op)
        rgba, edge = colour_image(probs, self.size, self.size)
        return BoundaryImage(rgba, edge, self.extent, iteration)
