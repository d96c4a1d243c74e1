"""The Dataset record every loader returns, and the one error type of this package."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np


class DataError(ValueError):
    """A dataset cannot be made, read or used; the message says where and why."""


@dataclass
class Dataset:
    """Labelled samples for classification.

    x: float array [N, *sample_shape] (toy sets [N, 2], images [N, C, H, W]);
    y: int64 labels [N] with values in 0..num_classes − 1;
    class_names: optional, one name per class.
    """

    name: str
    x: np.ndarray
    y: np.ndarray
    num_classes: int
    sample_shape: tuple[int, ...]
    description: str = ""
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.sample_shape = tuple(int(d) for d in self.sample_shape)
        if self.x.ndim < 2 or self.x.shape[1:] != self.sample_shape:
            raise DataError(f"{self.name}: x has shape {list(self.x.shape)}, expected "
                            f"[N, {', '.join(map(str, self.sample_shape))}]")
        if self.y.shape != (self.x.shape[0],):
            raise DataError(f"{self.name}: {self.x.shape[0]} samples but y has shape "
                            f"{list(self.y.shape)}")
        self.y = self.y.astype(np.int64, copy=False)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index: np.ndarray) -> Dataset:
        """The samples at `index` (an int array or boolean mask), as a new Dataset."""
        return replace(self, x=self.x[index], y=self.y[index])

    def flat(self) -> Dataset:
        """The same samples as flat vectors [N, prod(sample_shape)]."""
        size = int(np.prod(self.sample_shape))
        return replace(self, x=self.x.reshape(len(self), size), sample_shape=(size,))

    def class_counts(self) -> np.ndarray:
        """Samples per class, [num_classes] int64."""
        return np.bincount(self.y, minlength=self.num_classes)
