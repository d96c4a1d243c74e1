"""Reproducible parameter initialisation.

He (Kaiming) normal, std = sqrt(2 / fan_in), for layers whose output feeds a
ReLU or leaky ReLU; Glorot (Xavier) uniform, limit = sqrt(6 / (fan_in + fan_out)),
otherwise. Biases start at zero. fan_in = in_channels * kh * kw (dense: in
features), fan_out = out_channels * kh * kw.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from contextlib import contextmanager

import numpy as np


def node_rng(seed: int, node_id: str) -> np.random.Generator:
    """A generator that depends only on the seed and the node's id.

    Adding or removing another node never changes this node's weights.
    """
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(node_id.encode())])


CHUNK = 2**20  # values drawn at a time: a big layer never needs a float64 copy of itself


def init_weight(shape: tuple[int, ...], fan_in: int, fan_out: int, scheme: str,
                rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    """Drawn in float64 (the same numbers for every dtype), chunk by chunk into `dtype`."""
    if scheme == "he":
        scale = np.sqrt(2.0 / fan_in)

        def draw(count: int) -> np.ndarray:
            return rng.standard_normal(count) * scale
    elif scheme == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))

        def draw(count: int) -> np.ndarray:
            return rng.uniform(-limit, limit, count)
    else:
        raise ValueError(f"unknown initialisation scheme {scheme!r}")
    weight = np.empty(shape, dtype)
    flat = weight.reshape(-1)
    # NOTE: the generator fills values in order, so chunks give the very numbers
    # one call for the whole shape would.
    each_chunk = getattr(_chunk_hook, "hook", None)
    for begin in range(0, flat.size, CHUNK):
        flat[begin:begin + CHUNK] = draw(min(CHUNK, flat.size - begin))
        if each_chunk is not None:
            each_chunk()
    return weight


_chunk_hook = threading.local()


@contextmanager
def after_each_chunk(hook: Callable[[], None]):
    """Call `hook()` (on this thread) after every chunk of weights drawn; a hook that
    raises stops the drawing (a Cancel while VGG16's 102 M fc6 weights are drawn)."""
    _chunk_hook.hook = hook
    try:
        yield
    finally:
        _chunk_hook.hook = None
