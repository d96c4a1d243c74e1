"""The decision boundary of a network on 2-D data, as an RGB image (NumPy only).

A Grid covers the data's bounding box (plus a margin) with GRID_SIZE² points
in the data's own coordinates; `evaluate` feeds them, standardised as the
training data were, through the network in evaluation mode and colours each
pixel by the class probabilities: each class has a colour (Okabe–Ito,
colour-blind safe), mixed by probability and more transparent where the
network is unsure (the plot's background shows through); `edge` marks the
pixels where the predicted class changes, and `lines` is that boundary as
line segments interpolated between the grid's points (marching squares on
p_k − max_{j≠k} p_j), which the plot draws in the theme's text colour.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    lines: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # [2M, 2] pairs


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


def _crossings(values: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Where the field's sign changes between neighbours along `axis`: (a mask over
    the pairs, the fraction of the way from the first to the second)."""
    a = values[:, :-1] if axis == 1 else values[:-1, :]
    b = values[:, 1:] if axis == 1 else values[1:, :]
    cross = (a > 0) != (b > 0)
    with np.errstate(all="ignore"):
        t = np.where(cross, a / (a - b), 0.5)
    return cross, np.clip(np.nan_to_num(t, nan=0.5), 0, 1)


def zero_lines(values: np.ndarray, extent: tuple[float, float, float, float]) -> np.ndarray:
    """The zero contour of `values` (given at the centres of a grid over `extent`,
    bottom row first) as segments: [2M, 2] points in data units, in pairs."""
    rows, columns = values.shape
    x0, y0, width, height = extent
    dx, dy = width / columns, height / rows
    xs, ys = x0 + (np.arange(columns) + 0.5) * dx, y0 + (np.arange(rows) + 0.5) * dy
    h_cross, h_t = _crossings(values, 1)  # [rows, columns - 1]
    v_cross, v_t = _crossings(values, 0)  # [rows - 1, columns]
    h_points = np.stack(np.broadcast_arrays(xs[:-1] + h_t * dx, ys[:, None]), axis=-1)
    v_points = np.stack(np.broadcast_arrays(xs[None, :], ys[:-1, None] + v_t * dy), axis=-1)
    # a cell's edges in turn: bottom, right, top, left
    cross = np.stack([h_cross[:-1], v_cross[:, 1:], h_cross[1:], v_cross[:, :-1]], axis=-1)
    points = np.stack([h_points[:-1], v_points[:, 1:], h_points[1:], v_points[:, :-1]],
                      axis=-2)
    cross, points = cross.reshape(-1, 4), points.reshape(-1, 4, 2)
    count = cross.sum(axis=1)
    two = count == 2
    first = np.argsort(~cross[two], axis=1, kind="stable")[:, :2]
    pairs = np.take_along_axis(points[two], first[:, :, None], axis=1)
    four = points[count == 4]  # a saddle: two segments
    segments = np.concatenate([pairs, four[:, [0, 1]], four[:, [2, 3]]])
    return segments.reshape(-1, 2)


def boundary_lines(probs: np.ndarray, rows: int, columns: int,
                   extent: tuple[float, float, float, float]) -> np.ndarray:
    """Where the predicted class changes, as segments (see zero_lines)."""
    probs = np.nan_to_num(probs, nan=1 / probs.shape[1]).reshape(rows, columns, -1)
    k = probs.shape[2]
    parts = []
    for c in range(1 if k == 2 else k):
        others = np.delete(probs, c, axis=2).max(axis=2)
        parts.append(zero_lines(probs[:, :, c] - others, extent))
    return np.concatenate(parts)


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
        lines = boundary_lines(probs, self.size, self.size, self.extent)
        return BoundaryImage(rgba, edge, self.extent, iteration, lines)
