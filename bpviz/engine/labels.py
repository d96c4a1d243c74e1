"""Class labels in training: the loss node's targets, predicted labels, the tally.

Accuracy (labels y of an integer dtype only): the arg max of the prediction
when it has several outputs; with one output, the prediction ≥ 0 for
bce_with_logits (a logit) and ≥ 0.5 otherwise (a probability).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpviz.engine.executor import Network

Targets = Callable[[np.ndarray], dict[str, np.ndarray]]


def label_targets(network: Network, loss_id: str, dtype=np.float64) -> Targets:
    """Targets from class labels y [N] for the loss node `loss_id`.

    softmax_cross_entropy: the labels; other losses with 1 output: the labels
    as numbers [N, 1]; with K outputs: one-hot rows [N, K].
    """
    op_name = network.nodes[loss_id].op.op_name
    outputs = int(np.prod(node_shapes(network)[network.nodes[loss_id].inputs[0]]))

    def targets(y: np.ndarray) -> dict[str, np.ndarray]:
        y = np.asarray(y, dtype=np.int64)
        if op_name == "softmax_cross_entropy":
            return {loss_id: y}
        if outputs == 1:
            return {loss_id: y.astype(dtype)[:, None]}
        return {loss_id: np.eye(outputs, dtype=dtype)[y]}

    return targets


def node_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """Per-sample output shape of every node."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in network.order:
        shapes[node.id] = tuple(node.op.infer_shape([shapes[s] for s in node.inputs]))
    return shapes


def predicted_labels(pred: np.ndarray, loss_op: str) -> np.ndarray | None:
    """Class predictions [N] from a prediction [N, K]; None when it is not [N, K]."""
    if pred.ndim != 2:
        return None
    if pred.shape[1] > 1:
        return np.argmax(pred, axis=1)
    threshold = 0.0 if loss_op == "bce_with_logits" else 0.5
    return (pred[:, 0] >= threshold).astype(np.int64)


class Tally:
    """Loss (weighted by batch size) and correct predictions over batches."""

    def __init__(self) -> None:
        self.loss = 0.0
        self.count = 0
        self.correct = 0
        self.judged = 0

    def add(self, loss: float, n: int, labels: np.ndarray | None, y: np.ndarray) -> None:
        self.loss += loss * n
        self.count += n
        if labels is not None:
            self.correct += int(np.count_nonzero(labels == y))
            self.judged += n

    def mean_loss(self) -> float | None:
        return self.loss / self.count if self.count else None

    def accuracy(self) -> float | None:
        return self.correct / self.judged if self.judged else None
