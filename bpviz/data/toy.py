"""Toy 2-D classification sets: xor, circles, moons, spiral, blobs.

Every function takes the number of samples n, a noise level and a seed, and
returns a Dataset with x [n, 2] (float64) and y [n] (int64). Classes are as
balanced as n allows (counts differ by at most one) and the samples are in
random order. noise is the standard deviation of Gaussian noise added to
each coordinate; the shapes themselves fit in roughly [−1.5, 2.5]².
"""

from __future__ import annotations

import numpy as np

from bpviz.data.dataset import DataError, Dataset


def _check(name: str, n: int, noise: float, classes: int = 2) -> None:
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2:
        raise DataError(f"{name} needs at least 2 classes, got {classes!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < classes:
        raise DataError(f"{name} needs at least one sample per class (n ≥ {classes}), got {n!r}")
    if not (isinstance(noise, (int, float)) and np.isfinite(noise) and noise >= 0):
        raise DataError(f"{name} noise must be a number ≥ 0, got {noise!r}")


def _finish(name: str, x: np.ndarray, y: np.ndarray, classes: int, noise: float,
            rng: np.random.Generator, description: str) -> Dataset:
    """Add the coordinate noise, shuffle, and wrap up."""
    x = x + noise * rng.standard_normal(x.shape)
    order = rng.permutation(len(y))
    return Dataset(name, x[order].astype(np.float64), y[order].astype(np.int64), classes,
                   (2,), description)


def _labels(n: int, classes: int) -> np.ndarray:
    """Balanced labels [n]: 0, 1, …, classes − 1, 0, 1, …"""
    return np.arange(n) % classes


def xor(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Four quadrants; class 1 where the two coordinates have opposite signs."""
    _check("xor", n, noise)
    rng = np.random.default_rng(seed)
    quadrant = np.arange(n) % 4  # (+,+), (+,−), (−,−), (−,+): class = quadrant % 2
    signs = np.array([[1, 1], [1, -1], [-1, -1], [-1, 1]], dtype=np.float64)[quadrant]
    x = signs * rng.uniform(0.1, 1.0, (n, 2))
    return _finish("xor", x, quadrant % 2, 2, noise, rng,
                   "XOR: class 1 where x₁ and x₂ have opposite signs. Not linearly separable.")


def circles(n: int = 200, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric circles: class 0 of radius 1 outside, class 1 of radius `factor` inside."""
    _check("circles", n, noise)
    if not 0 < factor < 1:
        raise DataError(f"circles factor (inner radius) must lie in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    angle = rng.uniform(0, 2 * np.pi, n)
    radius = np.where(y == 0, 1.0, factor)
    x = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish("circles", x, y, 2, noise, rng,
                   "Two concentric circles: the inner one is class 1.")


def moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (as scikit-learn's make_moons)."""
    _check("moons", n, noise)
    rng = np.random.default_rng(seed)
    y = _labels(n, 2)
    t = rng.uniform(0, np.pi, n)
    upper = np.stack([np.cos(t), np.sin(t)], axis=1)
    lower = np.stack([1 - np.cos(t), 0.5 - np.sin(t)], axis=1)
    x = np.where((y == 0)[:, None], upper, lower)
    return _finish("moons", x, y, 2, noise, rng, "Two interleaving half moons.")


def spiral(n: int = 300, noise: float = 0.03, classes: int = 2, turns: float = 1.0,
           seed: int = 0) -> Dataset:
    """`classes` spiral arms around the origin, one per class, each `turns` turns long.

    A sample at radius r ∈ [0.1, 1] on arm k has angle 2πk/classes + 2π·turns·r.
    """
    _check("spiral", n, noise, classes)
    if not (isinstance(turns, (int, float)) and 0 < turns <= 5):
        raise DataError(f"spiral turns must lie in (0, 5], got {turns!r}")
    rng = np.random.default_rng(seed)
    y = _labels(n, classes)
    r = rng.uniform(0.1, 1.0, n)
    angle = 2 * np.pi * y / classes + 2 * np.pi * turns * r
    x = r[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return _finish("spiral", x, y, classes, noise, rng,
                   f"{classes} interleaved spiral arms, one per class.")


def blobs(n: int = 200, noise: float = 0.4, classes: int = 3, seed: int = 0) -> Dataset:
    """Gaussian blobs of std `noise`, one per class, centred evenly on a circle of radius 1.5."""
    _check("blobs", n, noise, classes)
    rng = np.random.default_rng(seed)
    y = _labels(n, classes)
    phase = 2 * np.pi * np.arange(classes) / classes + np.pi / 4
    centres = 1.5 * np.stack([np.cos(phase), np.sin(phase)], axis=1)
    return _finish("blobs", centres[y], y, classes, noise, rng,
                   f"{classes} Gaussian blobs, one per class.")


TOY = {"xor": xor, "circles": circles, "moons": moons, "spiral": spiral, "blobs": blobs}
