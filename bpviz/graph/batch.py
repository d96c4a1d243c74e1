"""Batches to run a graph on: drawn from a seed, or read from an .npz file.

An inputs file holds `x` (the batch for the graph's input node) and `y` (the
labels or targets for its loss node); a graph with several input or loss nodes
uses their ids as keys instead.
"""

from __future__ import annotations

import os

import numpy as np

from bpviz.engine.executor import Network
from bpviz.graph.weights import WeightsError, read_npz

Batch = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def node_shapes(network: Network) -> dict[str, tuple[int, ...]]:
    """Per-sample output shape of every node (the graph is already validated)."""
    shapes: dict[str, tuple[int, ...]] = {}
    for node in network.order:
        shapes[node.id] = tuple(node.op.infer_shape([shapes[s] for s in node.inputs]))
    return shapes


def random_target(op_name: str, pred_shape: tuple[int, ...], rng: np.random.Generator,
                  dtype) -> np.ndarray:
    """Targets a loss accepts: class labels, 0/1 targets or real values."""
    if op_name == "softmax_cross_entropy":
        return rng.integers(0, pred_shape[1], size=pred_shape[0]).astype(np.int64)
    if op_name in ("bce", "bce_with_logits"):
        return rng.integers(0, 2, size=pred_shape).astype(dtype)
    return rng.standard_normal(pred_shape).astype(dtype)


def random_batch(network: Network, batch: int, seed: int, dtype) -> Batch:
    """Standard-normal inputs and valid random targets, reproducible from `seed`."""
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 1])
    shapes = node_shapes(network)
    feeds = {i: rng.standard_normal((batch, *shapes[i])).astype(dtype) for i in network.inputs}
    targets = {}
    for loss in network.losses:
        source = network.nodes[loss].inputs[0]
        targets[loss] = random_target(loss_op(network, loss), (batch, *shapes[source]), rng, dtype)
    return feeds, targets


def loss_op(network: Network, node_id: str) -> str:
    return network.nodes[node_id].op.op_name


def _pick(arrays: dict[str, np.ndarray], ids: list[str], default_key: str, what: str,
          path) -> dict[str, np.ndarray]:
    picked = {}
    for node_id in ids:
        key = node_id if node_id in arrays or len(ids) > 1 else default_key
        if key not in arrays:
            raise WeightsError(f"inputs file {path} needs '{key}' ({what} for node '{node_id}')")
        picked[node_id] = arrays[key]
    return picked


def load_batch(network: Network, path: str | os.PathLike, dtype) -> Batch:
    """Read `x`/`y` (or per-node keys) and check them against the graph."""
    arrays = read_npz(path, "inputs")
    shapes = node_shapes(network)
    feeds = _pick(arrays, network.inputs, "x", "the input batch", path)
    targets = _pick(arrays, network.losses, "y", "the labels or targets", path)
    for node_id, x in feeds.items():
        if x.ndim < 1 or x.shape[1:] != shapes[node_id]:
            raise WeightsError(f"inputs file {path}: the batch for '{node_id}' has shape "
                               f"{list(x.shape)}, the graph needs [N, "
                               f"{', '.join(map(str, shapes[node_id]))}]")
        if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
            raise WeightsError(f"inputs file {path}: '{node_id}' must hold finite numbers")
        feeds[node_id] = x.astype(dtype)
    batch = len(next(iter(feeds.values()))) if feeds else 0
    for node_id, y in targets.items():
        targets[node_id] = _check_target(network, node_id, y, batch, shapes, dtype, path)
    return feeds, targets


def _check_target(network, node_id, y, batch, shapes, dtype, path) -> np.ndarray:
    pred_shape = (batch, *shapes[network.nodes[node_id].inputs[0]])
    if loss_op(network, node_id) == "softmax_cross_entropy":
        if y.shape != (batch,) or not np.issubdtype(y.dtype, np.integer):
            raise WeightsError(f"inputs file {path}: labels for '{node_id}' must be {batch} "
                               f"integers, got {y.dtype} of shape {list(y.shape)}")
        if y.size and (y.min() < 0 or y.max() >= pred_shape[1]):
            raise WeightsError(f"inputs file {path}: labels for '{node_id}' must lie in "
                               f"0..{pred_shape[1] - 1}, got {int(y.min())}..{int(y.max())}")
        return y.astype(np.int64)
    if y.shape != pred_shape:
        raise WeightsError(f"inputs file {path}: targets for '{node_id}' have shape "
                           f"{list(y.shape)}, the prediction has {list(pred_shape)}")
    return y.astype(dtype)
