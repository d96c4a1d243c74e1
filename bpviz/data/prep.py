"""Getting a Dataset ready for training: split, normalise, batch, check, targets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from bpviz.data.dataset import DataError, Dataset
from bpviz.engine.shape_text import shape_text

LOSSES = ("softmax_cross_entropy", "bce", "bce_with_logits", "mse")


def _val_counts(counts: np.ndarray, val_fraction: float) -> np.ndarray:
    """Validation samples per class: val_fraction of each, rounded so the total is
    round(val_fraction · N) (largest remainders first), keeping ≥ 1 of each class
    with 2 or more samples in the training set."""
    quota = counts * val_fraction
    take = np.floor(quota).astype(np.int64)
    room = np.where(counts >= 2, counts - 1, 0) - take
    missing = int(round(val_fraction * counts.sum())) - int(take.sum())
    for k in np.argsort(-(quota - take), kind="stable"):
        if missing <= 0:
            break
        if room[k] > 0:
            take[k] += 1
            missing -= 1
    return take


def split(dataset: Dataset, val_fraction: float = 0.2, seed: int = 0
          ) -> tuple[Dataset, Dataset]:
    """(train, val): a stratified random split, the same for the same seed.

    Each class contributes val_fraction of its samples to val (rounded so
    the val set has round(val_fraction · N) samples); both sets are shuffled.
    """
    if not 0 <= val_fraction < 1:
        raise DataError(f"the validation fraction must lie in [0, 1), got {val_fraction!r}")
    rng = np.random.default_rng(seed)
    counts = np.bincount(dataset.y, minlength=dataset.num_classes)
    take = _val_counts(counts, val_fraction)
    train_parts, val_parts = [], []
    for k in range(len(counts)):
        members = rng.permutation(np.flatnonzero(dataset.y == k))
        val_parts.append(members[:take[k]])
        train_parts.append(members[take[k]:])
    train = rng.permutation(np.concatenate(train_parts))
    val = rng.permutation(np.concatenate(val_parts))
    return dataset.subset(train), dataset.subset(val)


@dataclass
class Normalizer:
    """x ↦ (x − mean) / std with statistics of the training set.

    Flat data [N, F]: one mean and std per feature, shape [F]. Images
    [N, C, H, W] (any [N, C, ...]): one per channel, shape [C, 1, 1].
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, floor: float = 1e-6) -> Normalizer:
        """Statistics of x [N, ...]; a std below `floor` is replaced by 1.

        NOTE: a feature that is constant on the training set (the corner
        pixels of digits) is only centred: dividing by a tiny std would turn
        the rare validation sample that differs into a huge input.
        """
        if x.ndim < 2 or len(x) == 0:
            raise DataError(f"the normaliser needs a batch [N, ...] of samples, "
                            f"got shape {list(x.shape)}")
        axes = (0,) if x.ndim == 2 else (0, *range(2, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)[0].astype(np.float64)
        std = x.std(axis=axes, keepdims=True)[0].astype(np.float64)
        return cls(mean, np.where(std < floor, 1.0, std))

    def apply(self, x: np.ndarray) -> np.ndarray:
        """Normalised copy of x [N, ...], in x's float dtype (float64 for integers)."""
        dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.float64
        return ((x - self.mean) / self.std).astype(dtype, copy=False)

    def apply_dataset(self, dataset: Dataset) -> Dataset:
        """The dataset with normalised x."""
        return replace(dataset, x=self.apply(dataset.x))


def batches(x: np.ndarray, y: np.ndarray | None, batch_size: int,
            rng: np.random.Generator | None = None, shuffle: bool = True
            ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """One epoch of mini-batches (x[i], y[i]): every sample exactly once.

    The last batch holds the remaining N mod batch_size samples when that is
    not 0. shuffle=True draws the order from rng (required then).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 1:
        raise DataError(f"the batch size must be a positive integer, got {batch_size!r}")
    if y is not None and len(y) != len(x):
        raise DataError(f"{len(x)} samples but {len(y)} labels")
    if shuffle and rng is None:
        raise DataError("shuffled batches need a random generator (rng)")
    order = rng.permutation(len(x)) if shuffle else np.arange(len(x))
    for start in range(0, len(x), batch_size):
        index = order[start:start + batch_size]
        yield x[index], (None if y is None else y[index])


def _describe(name: str, shape: tuple[int, ...]) -> str:
    if len(shape) >= 2:
        return f"the {name} images are {shape_text(shape)}"
    return f"the {name} samples have {shape[0]} feature{'s' if shape[0] != 1 else ''}"


def _check_shape(dataset: Dataset, input_shape: tuple[int, ...], input_name: str) -> None:
    have = dataset.sample_shape
    if have == input_shape:
        return
    same_size = int(np.prod(have)) == int(np.prod(input_shape))
    if same_size and len(have) >= 2 and len(input_shape) == 1:
        hint = f"use {dataset.name} as flat vectors or change the input"
    else:
        hint = f"change the input's shape to {list(have)}"
    raise DataError(f"{_describe(dataset.name, have)} but the graph's input '{input_name}' "
                    f"expects {shape_text(input_shape)}: {hint}")


def check_fits(dataset: Dataset, input_shape: Sequence[int], num_outputs: int,
               loss_op: str | None, input_name: str = "x") -> None:
    """Raise DataError unless the dataset can train a graph.

    input_shape: the per-sample shape of the graph's input node;
    num_outputs: the number of units of the layer the loss reads;
    loss_op: the loss node's op name (None: no loss, only the shape is checked).
    Rules: softmax_cross_entropy needs one output per class (labels < num_outputs);
    bce, bce_with_logits and mse with 1 output learn 2 classes (the label 0/1
    is the target), with K > 1 outputs one-hot targets, so labels < K.
    """
    _check_shape(dataset, tuple(int(d) for d in input_shape), input_name)
    if loss_op is None:
        return
    if loss_op not in LOSSES:
        raise DataError(f"no class labels can feed a '{loss_op}' loss "
                        f"(use one of {', '.join(LOSSES)})")
    classes = max(dataset.num_classes, int(dataset.y.max(initial=-1)) + 1)
    if loss_op != "softmax_cross_entropy" and num_outputs == 1:
        if classes > 2:
            raise DataError(f"{loss_op} with 1 output can only tell 2 classes apart, but "
                            f"{dataset.name} has {classes}: use softmax_cross_entropy "
                            f"after a layer of {classes} units")
        return
    if classes > num_outputs:
        raise DataError(f"{dataset.name} has {classes} classes (labels 0–{classes - 1}) but "
                        f"the layer before {loss_op} has {num_outputs} "
                        f"unit{'s' if num_outputs != 1 else ''}: give it {classes} units, "
                        f"one per class")


def make_targets(y: np.ndarray, loss_op: str, num_outputs: int,
                 dtype: np.dtype = np.float64) -> np.ndarray:
    """What the loss node compares with, from labels y [N] (see check_fits' rules).

    softmax_cross_entropy: the labels [N] (int64); other losses with 1 output:
    the labels as numbers [N, 1]; with K outputs: one-hot rows [N, K] of `dtype`.
    """
    y = np.asarray(y, dtype=np.int64)
    if loss_op == "softmax_cross_entropy":
        return y
    if num_outputs == 1:
        return y.astype(dtype)[:, None]
    return np.eye(num_outputs, dtype=dtype)[y]
