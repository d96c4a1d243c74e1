"""The built-in datasets: reproducible, well shaped, balanced and learnable."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.data import DATASETS, DataError, Dataset, digits, get_dataset, shapes

TOYS = ["xor", "circles", "moons", "spiral", "blobs"]


def nearest_mean_accuracy(train: Dataset, test: Dataset) -> float:
    """Accuracy of classifying each test sample by the nearest class mean of train."""
    flat = train.x.reshape(len(train), -1)
    means = np.stack([flat[train.y == k].mean(axis=0) for k in range(train.num_classes)])
    test_flat = test.x.reshape(len(test), -1)
    distance = ((test_flat[:, None, :] - means[None]) ** 2).sum(axis=2)
    return float(np.mean(distance.argmin(axis=1) == test.y))


@pytest.mark.parametrize("name", list(DATASETS))
def test_same_seed_same_arrays(name):
    a, b = get_dataset(name, seed=3), get_dataset(name, seed=3)
    assert a.x.tobytes() == b.x.tobytes()
    assert a.y.tobytes() == b.y.tobytes()


@pytest.mark.parametrize("name", TOYS + ["shapes"])
def test_different_seed_different_arrays(name):
    a, b = get_dataset(name, seed=1), get_dataset(name, seed=2)
    assert not np.array_equal(a.x, b.x)


@pytest.mark.parametrize("name", TOYS)
@pytest.mark.parametrize("n", [7, 200])
def test_toy_shapes_and_balance(name, n):
    data = get_dataset(name, n=n, seed=0)
    assert data.x.shape == (n, 2) and data.sample_shape == (2,)
    assert data.x.dtype == np.float64 and data.y.dtype == np.int64
    assert np.all(np.isfinite(data.x))
    counts = data.class_counts()
    assert counts.sum() == n and len(counts) == data.num_classes
    assert counts.max() - counts.min() <= 1


@pytest.mark.parametrize("name", ["spiral", "blobs"])
@pytest.mark.parametrize("classes", [2, 3, 5])
def test_number_of_classes_is_an_option(name, classes):
    data = get_dataset(name, n=100, classes=classes)
    assert data.num_classes == classes
    assert set(np.unique(data.y)) == set(range(classes))


def test_noise_zero_gives_the_exact_shapes():
    circles = get_dataset("circles", n=100, noise=0.0, factor=0.3)
    radius = np.hypot(circles.x[:, 0], circles.x[:, 1])
    np.testing.assert_allclose(radius, np.where(circles.y == 0, 1.0, 0.3))
    xor = get_dataset("xor", n=100, noise=0.0)
    assert np.array_equal(xor.y, (np.sign(xor.x[:, 0]) != np.sign(xor.x[:, 1])).astype(int))


def test_blobs_with_small_noise_are_linearly_separable():
    train = get_dataset("blobs", n=300, noise=0.2, classes=4, seed=0)
    test = get_dataset("blobs", n=300, noise=0.2, classes=4, seed=1)
    assert nearest_mean_accuracy(train, test) > 0.95


def test_xor_is_not_linearly_separable_by_class_means():
    train = get_dataset("xor", n=400, seed=0)
    assert nearest_mean_accuracy(train, get_dataset("xor", n=400, seed=1)) < 0.7


def test_digits():
    data = digits()
    assert data.x.shape == (1797, 1, 8, 8) and data.sample_shape == (1, 8, 8)
    assert data.num_classes == 10 and set(np.unique(data.y)) == set(range(10))
    assert data.x.min() == 0.0 and data.x.max() == 1.0
    flat = digits(flat=True)
    assert flat.x.shape == (1797, 64)
    assert np.array_equal(flat.x, data.x.reshape(1797, 64))
    data.x[0] = 5.0  # a caller's change must not leak into the next load
    assert digits().x.max() == 1.0


def test_digits_are_learnable():
    data = digits(flat=True)
    assert nearest_mean_accuracy(data.subset(slice(0, 1000)), data.subset(slice(1000, None))) > 0.85


def test_shapes_images():
    data = shapes(200, size=12, seed=0)
    assert data.x.shape == (200, 1, 12, 12) and data.num_classes == 4
    assert data.x.min() >= 0 and data.x.max() <= 1
    assert np.all(data.class_counts() == 50)
    assert data.class_names == ("square", "circle", "triangle", "cross")
    assert shapes(8, size=20, flat=True).x.shape == (8, 400)


def test_shapes_classes_are_distinguishable():
    data = shapes(800, seed=0, noise=0.0)
    means = np.stack([data.x[data.y == k].mean(axis=0) for k in range(4)])
    for a in range(4):
        for b in range(a + 1, 4):
            assert np.abs(means[a] - means[b]).max() > 0.1
    # Same position and size, different shape: squares cover the most pixels,
    # triangles the fewest, and each image holds one shape.
    area = data.x.reshape(len(data), -1).sum(axis=1)
    assert np.all(area > 0)
    per_class = [area[data.y == k].mean() for k in range(4)]
    assert per_class[0] == max(per_class) and per_class[2] < per_class[1]

def test_shapes_are_learnable_by_nearest_neighbour():
    train, test = shapes(800, seed=0).flat(), shapes(400, seed=1).flat()
    sq = (test.x**2).sum(1)[:, None] + (train.x**2).sum(1)[None] - 2 * test.x @ train.x.T
    assert np.mean(train.y[sq.argmin(axis=1)] == test.y) > 0.75


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(DataError, match="unknown dataset 'mnist'.*xor.*digits.*shapes.*csv"):
        get_dataset("mnist")


def test_unknown_option_names_the_valid_ones():
    with pytest.raises(DataError, match="moons has no option 'classes'.*n, noise"):
        get_dataset("moons", classes=3)


@pytest.mark.parametrize(("name", "options", "message"), [
    ("spiral", {"classes": 1}, "at least 2 classes"),
    ("blobs", {"n": 2, "classes": 3}, "at least one sample per class"),
    ("moons", {"noise": -1.0}, "noise"),
    ("circles", {"factor": 1.5}, "factor"),
    ("shapes", {"size": 4}, "size"),
])
def test_bad_options(name, options, message):
    with pytest.raises(DataError, match=message):
        get_dataset(name, **options)


def test_names_are_case_insensitive():
    assert get_dataset("Moons", n=10).name == "moons"
