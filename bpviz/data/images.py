"""Small grayscale image sets: scikit-learn's 8×8 digits and synthetic shapes.

Images are float64 in [0, 1], [N, 1, H, W] (channels first, as the engine's
conv2d), or [N, H·W] with flat=True.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from bpviz.data.dataset import DataError, Dataset

SHAPE_NAMES = ("square", "circle", "triangle", "cross")


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    # NOTE: imported here, not at module level: scikit-learn is slow to import
    # and only this loader needs it (the data ship inside its wheel, no download).
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return bunch.images.astype(np.float64) / 16.0, bunch.target.astype(np.int64)


def digits(flat: bool = False) -> Dataset:
    """scikit-learn's handwritten digits: 1797 images of 8×8 pixels, classes 0–9.

    x: [1797, 1, 8, 8] (flat=True: [1797, 64]), pixel values 0..16 scaled to [0, 1].
    """
    images, labels = _digits_arrays()
    x = images.reshape(-1, 64) if flat else images[:, None, :, :]
    shape = (64,) if flat else (1, 8, 8)
    return Dataset("digits", x.copy(), labels.copy(), 10, shape,
                   "Handwritten digits 0–9, 8×8 grayscale (UCI, via scikit-learn).",
                   tuple(str(d) for d in range(10)))


def _masks(kind: int, cx: np.ndarray, cy: np.ndarray, r: np.ndarray,
           xx: np.ndarray, yy: np.ndarray) -> np.ndarray:
    """Boolean images [M, size, size] of one shape kind; cx, cy, r are [M, 1, 1]."""
    dx, dy = np.abs(xx - cx), np.abs(yy - cy)
    if kind == 0:  # square
        return (dx <= r) & (dy <= r)
    if kind == 1:  # circle
        return dx**2 + dy**2 <= r**2
    if kind == 2:  # triangle pointing up: the half width grows from 0 at the top to r
        depth = yy - (cy - r)
        return (depth >= 0) & (depth <= 2 * r) & (dx <= depth / 2)
    arm = np.maximum(0.75, r / 3)  # cross (plus sign) with bars of half thickness `arm`
    return ((dx <= arm) & (dy <= r)) | ((dy <= arm) & (dx <= r))


def shapes(n: int = 400, size: int = 16, seed: int = 0, noise: float = 0.05,
           flat: bool = False) -> Dataset:
    """Squares, circles, triangles and crosses (classes 0–3) drawn at random places.

    Each image [1, size, size] holds one filled white shape on black whose
    half size r is between 0.2 and 0.4 of the image and which lies wholly
    inside; Gaussian noise of std `noise` is added and the result clipped to
    [0, 1]. Classes are balanced. flat=True gives [n, size·size].
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4:
        raise DataError(f"shapes needs at least one sample per class (n ≥ 4), got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 8 <= size <= 128:
        raise DataError(f"shapes size must be an integer from 8 to 128, got {size!r}")
    if not (isinstance(noise, (int, float)) and 0 <= noise <= 1):
        raise DataError(f"shapes noise must lie in [0, 1], got {noise!r}")
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % 4)
    r = rng.uniform(0.2, 0.4, n) * size
    cx = rng.uniform(r, size - r)
    cy = rng.uniform(r, size - r)
    xx = np.arange(size, dtype=np.float64)[None, None, :] + 0.5
    yy = np.arange(size, dtype=np.float64)[None, :, None] + 0.5
    images = np.zeros((n, size, size))
    for kind in range(4):
        pick = y == kind
        images[pick] = _masks(kind, cx[pick, None, None], cy[pick, None, None],
                              r[pick, None, None], xx, yy)
    images = np.clip(images + noise * rng.standard_normal(images.shape), 0.0, 1.0)
    x = images.reshape(n, size * size) if flat else images[:, None]
    shape = (size * size,) if flat else (1, size, size)
    return Dataset("shapes", x, y.astype(np.int64), 4, shape,
                   f"Filled squares, circles, triangles and crosses, {size}×{size} grayscale.",
                   SHAPE_NAMES)
