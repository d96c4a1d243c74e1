"""Datasets for training: toy 2-D sets, small images and the user's own files.

Everything is NumPy and reproducible from a seed. `get_dataset` makes one by
name; `split`, `Normalizer` and `batches` prepare it; `check_fits` says in
plain words when it does not match a graph.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bpviz.data.dataset import DataError, Dataset
from bpviz.data.images import digits, shapes
from bpviz.data.prep import Normalizer, batches, check_fits, make_targets, split
from bpviz.data.toy import blobs, circles, moons, spiral, xor
from bpviz.data.user import load_user_data

DATASETS: dict[str, Callable[..., Dataset]] = {
    "xor": xor, "circles": circles, "moons": moons, "spiral": spiral, "blobs": blobs,
    "digits": digits, "shapes": shapes,
}

FILE_TYPES = (".csv", ".npz")


def dataset_options(name: str) -> dict[str, Any]:
    """The options a named dataset takes, with their defaults (seed excluded)."""
    parameters = inspect.signature(DATASETS[name]).parameters
    return {p.name: p.default for p in parameters.values() if p.name != "seed"}


def get_dataset(name_or_path: str | Path, seed: int = 0, **options: Any) -> Dataset:
    """A dataset by name (see DATASETS) or from a .csv/.npz file.

    options go to the named dataset's function (e.g. n, noise, classes;
    digits: flat); seed is ignored by digits, which is fixed. Files take no
    options.
    """
    text = str(name_or_path)
    if text.lower().endswith(FILE_TYPES):
        if options:
            raise DataError(f"{Path(text).name}: a data file takes no options, "
                            f"got {', '.join(sorted(options))}")
        return load_user_data(text)
    maker = DATASETS.get(text.lower())
    if maker is None:
        raise DataError(f"unknown dataset '{text}': choose one of {', '.join(DATASETS)} "
                        f"or a .csv/.npz file")
    allowed = dataset_options(text.lower())
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        names = ", ".join(allowed) or "none"
        raise DataError(f"{text} has no option '{unknown[0]}' (options: {names})")
    if "seed" in inspect.signature(maker).parameters:
        options["seed"] = seed
    return maker(**options)


__all__ = ["DATASETS", "DataError", "Dataset", "Normalizer", "batches", "blobs",
           "check_fits", "circles", "dataset_options", "digits", "get_dataset",
           "load_user_data", "make_targets", "moons", "shapes", "spiral", "split", "xor"]
