"""Which weights a pass runs with, and on what batch (plain functions, no Qt).

A WeightSource is weights the workspace holds besides the seed's: trained,
loaded from a file or imported from PyTorch, as '<node id>/<name>' arrays.
`make_network` builds the graph and puts them in when they fit; otherwise
the seed's initial weights stay and the note says why. Trained weights carry
a DataSource (the dataset, split and normaliser training used): their pass
runs on a validation batch of that data, standardised as training fed it, so
the numbers are the ones the trained network really sees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpviz.graph import GraphDocument, build_network
from bpviz.graph.weights import WeightsError, assign_tensors

RANDOM_BATCH = "a random batch"  # what a pass runs on without data: noise from the seed


@dataclass(frozen=True)
class DataSource:
    """The data a network was trained on: dataset name or file, seed, split, normaliser."""

    dataset: str
    seed: int
    val_fraction: float
    normalizer: object  # bpviz.data.Normalizer


@dataclass(frozen=True)
class WeightSource:
    kind: str  # "trained", "file" or "imported"
    label: str  # what the step bar says: "trained weights", "weights from w.npz"
    tensors: dict  # '<node id>/<name>' → array
    data: DataSource | None = None  # trained weights: what they were trained on
    path: str = ""  # a file's path
    optimizer: str = ""  # trained weights: the run's optimizer ("sgd", "adam") …
    optimizer_state: dict | None = None  # … and its state at the end (Optimizer.snapshot())
    iterations: int = 0  # … after this many iterations


def initial_label(seed: int) -> str:
    return f"initial weights (seed {seed})"


@dataclass
class Made:
    network: object  # bpviz.engine.Network
    label: str  # the weights it holds
    note: str = ""  # why the held weights were not used
    source: WeightSource | None = None  # the source used, if any


def make_network(doc: GraphDocument, seed: int, weights: WeightSource | None,
                 dtype=np.float64, progress=None) -> Made:
    """`doc`'s network with the seed's weights, replaced by `weights` when they fit;
    `progress(done, total)` hears of every node made (graph.build_network)."""
    network = build_network(doc, seed=seed, dtype=dtype, progress=progress)
    if weights is None:
        return Made(network, initial_label(seed))
    try:
        assign_tensors(network, weights.tensors, f"the {weights.label}")
    except WeightsError as error:
        return Made(network, initial_label(seed), f"{error}; showing the initial weights")
    return Made(network, weights.label, source=weights)


def data_batch(network, data: DataSource, batch: int, seed: int, dtype=np.float64):
    """(feeds, targets): `batch` validation samples of the training data, standardised
    with the training normaliser, chosen by `seed`."""
    from bpviz.data.fit import graph_io, load_for_input
    from bpviz.data.prep import make_targets, split

    ends = graph_io(network, "stepping through the training data")
    dataset = load_for_input(data.dataset, ends.input_shape, data.seed)
    train, val = split(dataset, data.val_fraction, seed=data.seed)
    pool = val if len(val) else train
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 2])
    index = np.sort(rng.choice(len(pool), size=min(batch, len(pool)), replace=False))
    x = data.normalizer.apply(pool.x[index].astype(np.float64)).astype(dtype)
    y = make_targets(pool.y[index], ends.loss_op, ends.outputs, dtype)
    return {ends.input_id: x}, {ends.loss_id: y}


def batch_for(made: Made, batch: int, seed: int, dtype=np.float64):
    """(feeds, targets, what): training data for trained weights, else a random batch."""
    from bpviz.graph.batch import random_batch

    data = made.source.data if made.source is not None else None
    if data is not None:
        try:
            feeds, targets = data_batch(made.network, data, batch, seed, dtype)
        except (ValueError, OSError) as error:  # the data file has gone, say
            made.note = f"cannot read the training data ({error}); {RANDOM_BATCH} instead"
        else:
            count = len(next(iter(feeds.values())))
            return feeds, targets, f"{count} {data_label(data)}"
    feeds, targets = random_batch(made.network, batch, seed, dtype)
    return feeds, targets, RANDOM_BATCH


def data_label(data: DataSource) -> str:
    """"moons validation samples (standardised)": what a trained pass runs on."""
    name = data.dataset.replace("\\", "/").rsplit("/", 1)[-1]
    return f"{name} validation samples (standardised)"
