"""Fitting a dataset to a graph: what `bpviz train` and the app's training panel share.

The dataset is shaped to the graph's input where that is unambiguous (digits
and shapes as images or flat vectors, shapes at the input's size, any images
flattened for a flat input of the same size), checked against the graph
(`check_fits`), split into training and validation sets (stratified, from the
seed) and standardised with the training set's statistics: per feature for
flat data, per channel for images. Every problem is a DataError whose message
says what does not fit and how to fix it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bpviz.data.dataset import DataError, Dataset
from bpviz.data.prep import Normalizer, check_fits, split
from bpviz.engine.shape_text import shape_text

MIN_EPOCHS, MIN_ITERATIONS = 10, 1000


@dataclass(frozen=True)
class GraphIO:
    """What training needs to know of a graph's ends."""

    input_id: str
    input_shape: tuple[int, ...]  # per sample
    loss_id: str
    loss_op: str
    pred_id: str  # the node the loss reads
    outputs: int  # its units: one score per class


@dataclass(frozen=True)
class Prepared:
    """A dataset ready for a graph: standardised splits and what standardised them."""

    dataset: Dataset  # as loaded and shaped, before the split
    train: Dataset
    val: Dataset
    normalizer: Normalizer


def image_size(input_shape: tuple[int, ...]) -> int | None:
    """The side of the square images the input takes: [C, s, s], or [s·s] flat."""
    if len(input_shape) == 3 and input_shape[1] == input_shape[2]:
        return input_shape[1]
    if len(input_shape) == 1 and math.isqrt(input_shape[0]) ** 2 == input_shape[0]:
        return math.isqrt(input_shape[0])
    return None


def load_for_input(spec: str, input_shape: tuple[int, ...], seed: int) -> Dataset:
    """The dataset `spec` (a name or a .csv/.npz path), shaped to the graph's input
    where unambiguous."""
    from bpviz.data import get_dataset

    size = image_size(input_shape)
    options = {"size": size} if spec.lower() == "shapes" and size and 8 <= size <= 128 else {}
    dataset = get_dataset(spec, seed=seed, **options)
    have = dataset.sample_shape
    if len(have) >= 2 and len(input_shape) == 1 and math.prod(have) == input_shape[0]:
        dataset = dataset.flat()
    return dataset


def graph_io(network, who: str = "training") -> GraphIO:
    """The input and loss of `network`; DataError unless it has one of each and the
    loss reads a flat [K] output. `who` starts the messages ("bpviz train needs …")."""
    from bpviz.engine.trainer import node_shapes

    for what, ids in (("input", network.inputs), ("loss", network.losses)):
        if len(ids) != 1:
            raise DataError(f"{who} needs a graph with one {what} node, this one has {len(ids)}")
    shapes = node_shapes(network)
    loss = network.nodes[network.losses[0]]
    pred_id = loss.inputs[0]
    if len(shapes[pred_id]) != 1:
        raise DataError(f"the loss '{loss.id}' reads '{pred_id}', shaped "
                        f"{shape_text(shapes[pred_id])}: {who} needs one score per "
                        f"class, a flat [K] output (add flatten and dense before the loss)")
    input_id = network.inputs[0]
    return GraphIO(input_id, shapes[input_id], loss.id, loss.op.op_name, pred_id,
                   shapes[pred_id][0])


def prepare(spec: str, network, seed: int = 0, val_fraction: float = 0.2,
            who: str = "training") -> Prepared:
    """Load `spec`, check it fits `network`, split it and standardise it."""
    ends = graph_io(network, who)
    dataset = load_for_input(spec, ends.input_shape, seed)
    check_fits(dataset, ends.input_shape, ends.outputs, ends.loss_op, ends.input_id)
    train, val = split(dataset, val_fraction, seed=seed)
    if len(train) == 0:
        raise DataError(f"{dataset.name} leaves no training samples")
    normalizer = Normalizer.fit(train.x)
    return Prepared(dataset, normalizer.apply_dataset(train), normalizer.apply_dataset(val),
                    normalizer)


def default_epochs(train_size: int, batch_size: int) -> int:
    """MIN_EPOCHS, or enough epochs for MIN_ITERATIONS optimizer steps on small data."""
    per_epoch = max(1, -(-train_size // batch_size))
    return max(MIN_EPOCHS, -(-MIN_ITERATIONS // per_epoch))
