"""Reproducible parameter initialisation.

He (Kaiming) normal, std = sqrt(2 / fan_in), for layers whose output feeds a
ReLU or leaky ReLU; Glorot (Xavier) uniform, limit = sqrt(6 / (fan_in + fan_out)),
otherwise. Biases start at zero. fan_in = in_channels * kh * kw (dense: in
features), fan_out = out_channels * kh * kw.
"""

from __future__ import annotations

import zlib

import numpy as np


def node_rng(seed: int, node_id: str) -> np.random.Generator:
    """A generator that depends only on the seed and the node's id.

    Adding or removing another node never changes this node's weights.
    """
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(node_id.encode())])


def init_weight(shape: tuple[int, ...], fan_in: int, fan_out: int, scheme: str,
                rng: np.random.Generator, dtype: np.dtype) -> np.ndarray:
    if scheme == "he":
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)
    if scheme == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape).astype(dtype)
    raise ValueError(f"unknown initialisation scheme {scheme!r}")
