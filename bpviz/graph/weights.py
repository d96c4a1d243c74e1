"""Weights as .npz files: keys '<node id>/<param>' in torch's layouts, never pickled.

dense: weight [out, in], bias [out]; conv2d: weight [out, in, kh, kw], bias [out];
batchnorm: weight, bias, running_mean, running_var.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from bpviz.atomic import atomic_write
from bpviz.engine.executor import Network


class WeightsError(ValueError):
    """A weights file does not fit the graph."""


def network_tensors(network: Network) -> dict[str, np.ndarray]:
    """Every parameter and buffer as '<node id>/<name>' → array."""
    tensors: dict[str, np.ndarray] = {}
    for node in network.order:
        for store in (node.op.params, node.op.buffers):
            for name, value in store.items():
                tensors[f"{node.id}/{name}"] = value
    return tensors


def save_weights(network: Network, path: str | os.PathLike) -> None:
    tensors = network_tensors(network)
    atomic_write(path, lambda handle: np.savez(handle, **tensors))


def read_npz(path: str | os.PathLike, what: str) -> dict[str, np.ndarray]:
    """Every array of an .npz file, refusing pickled objects."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise WeightsError(f"{what} file {path} does not exist") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise WeightsError(f"{what} file {path} is not a readable .npz file: {error}") from None


def load_weights(network: Network, path: str | os.PathLike) -> None:
    """Replace the network's parameters and buffers with those in `path`.

    Every tensor must be present with the right shape; nothing is changed
    unless the whole file fits.
    """
    assign_tensors(network, read_npz(path, "weights"), f"weights file {path}")


def check_tensors(network: Network, given: dict[str, np.ndarray],
                  where: str = "the weights") -> None:
    """WeightsError unless `given` has exactly the network's tensors, shaped alike and
    finite; `where` starts the messages ("weights file w.npz")."""
    expected = network_tensors(network)
    unknown = sorted(set(given) - set(expected))
    if unknown:
        raise WeightsError(f"{where} has '{unknown[0]}', which the graph does not "
                           f"have (expected keys like {', '.join(sorted(expected)[:3])})")
    for key, value in given.items():
        if value.shape != expected[key].shape:
            raise WeightsError(f"{where}: '{key}' has shape {list(value.shape)}, "
                               f"the graph needs {list(expected[key].shape)}")
        if not np.issubdtype(value.dtype, np.floating) or not np.all(np.isfinite(value)):
            raise WeightsError(f"{where}: '{key}' must hold finite floating numbers")
    missing = sorted(set(expected) - set(given))
    if missing:
        raise WeightsError(f"{where} lacks '{missing[0]}'"
                           + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""))


def assign_tensors(network: Network, given: dict[str, np.ndarray],
                   where: str = "the weights") -> None:
    """Copy `given` ('<node id>/<name>' → array) into the network, in its dtype;
    nothing is changed unless all of it fits (see check_tensors)."""
    check_tensors(network, given, where)
    for node in network.order:
        for store in (node.op.params, node.op.buffers):
            for name, value in store.items():
                store[name] = given[f"{node.id}/{name}"].astype(value.dtype)
