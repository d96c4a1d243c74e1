"""Splitting, normalising, batching and checking a dataset against a graph."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.data import (
    DataError,
    Normalizer,
    batches,
    check_fits,
    digits,
    get_dataset,
    make_targets,
    split,
)


def test_split_is_stratified_and_reproducible():
    data = get_dataset("blobs", n=300, classes=3)
    train, val = split(data, 0.2, seed=5)
    assert len(train) == 240 and len(val) == 60
    assert val.class_counts().tolist() == [20, 20, 20]
    again_train, again_val = split(data, 0.2, seed=5)
    assert np.array_equal(train.x, again_train.x) and np.array_equal(val.y, again_val.y)
    other_train, _ = split(data, 0.2, seed=6)
    assert not np.array_equal(train.x, other_train.x)


def test_split_is_a_partition():
    data = digits(flat=True)
    train, val = split(data, 0.25, seed=0)
    assert len(train) + len(val) == len(data)
    assert len(val) == round(0.25 * len(data))
    rows = {row.tobytes() for row in np.concatenate([train.x, val.x])}
    assert rows == {row.tobytes() for row in data.x}
    assert np.all(train.class_counts() > 0)


def test_split_keeps_rare_classes_in_training():
    data = get_dataset("moons", n=3)  # classes of 2 and 1 samples
    train, val = split(data, 0.5, seed=0)
    assert np.all(train.class_counts() >= 1)
    assert len(train) + len(val) == 3


def test_split_rejects_bad_fraction():
    with pytest.raises(DataError, match="validation fraction"):
        split(get_dataset("xor"), 1.0)


def test_normalizer_flat_data():
    train, val = split(get_dataset("moons", n=500), 0.2, seed=0)
    normalizer = Normalizer.fit(train.x)
    assert normalizer.mean.shape == (2,)
    x = normalizer.apply(train.x)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-12)
    assert normalizer.apply(val.x).shape == val.x.shape


def test_normalizer_images_are_per_channel():
    rng = np.random.default_rng(0)
    x = rng.normal([1.0, -3.0, 10.0], [2.0, 0.5, 4.0], (50, 6, 6, 3)).transpose(0, 3, 1, 2)
    normalizer = Normalizer.fit(x)
    assert normalizer.mean.shape == (3, 1, 1)
    y = normalizer.apply(x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=(0, 2, 3)), 1, atol=1e-12)


def test_normalizer_constant_features_are_only_centred():
    data = digits(flat=True)
    normalizer = Normalizer.fit(data.x)
    constant = data.x.std(axis=0) == 0
    assert constant.any()
    x = normalizer.apply(data.x)
    assert np.all(np.isfinite(x))
    assert np.all(x[:, constant] == 0)
    np.testing.assert_allclose(x[:, ~constant].std(axis=0), 1, atol=1e-12)


def test_normalizer_keeps_float32():
    x = np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32)
    assert Normalizer.fit(x).apply(x).dtype == np.float32


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (12, 4), (5, 8), (1, 1)])
def test_batches_cover_every_sample_once(n, batch_size):
    x = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 2))
    y = np.arange(n)
    rng = np.random.default_rng(0)
    seen = []
    sizes = []
    for xb, yb in batches(x, y, batch_size, rng):
        assert np.array_equal(xb[:, 0], yb)
        seen.extend(yb.tolist())
        sizes.append(len(yb))
    assert sorted(seen) == list(range(n))
    assert sizes == [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])


def test_batches_shuffle_is_reproducible_and_optional():
    x, y = np.zeros((10, 1)), np.arange(10)

    def order(**kw):
        return [int(v) for _, yb in batches(x, y, 4, **kw) for v in yb]

    assert order(rng=np.random.default_rng(1)) == order(rng=np.random.default_rng(1))
    assert order(rng=np.random.default_rng(1)) != order(rng=np.random.default_rng(2))
    assert order(shuffle=False) == list(range(10))
    with pytest.raises(DataError, match="batch size"):
        list(batches(x, y, 0, np.random.default_rng(0)))


def test_check_fits_accepts_a_matching_graph():
    check_fits(digits(), (1, 8, 8), 10, "softmax_cross_entropy")
    check_fits(digits(flat=True), [64], 10, "softmax_cross_entropy")
    check_fits(get_dataset("moons"), [2], 1, "bce_with_logits")
    check_fits(get_dataset("moons"), [2], 2, "softmax_cross_entropy")
    check_fits(get_dataset("blobs", classes=3), [2], 3, "mse")
    check_fits(digits(), (1, 8, 8), 3, None)


@pytest.mark.parametrize(("args", "message"), [
    ((digits(), [64], 10, "softmax_cross_entropy"),
     "the digits images are 1×8×8 but the graph's input 'x' expects 64: "
     "use digits as flat vectors or change the input"),
    ((get_dataset("moons"), [3], 2, "softmax_cross_entropy"),
     r"the moons samples have 2 features but the graph's input 'x' expects 3: "
     r"change the input's shape to \[2\]"),
    ((digits(flat=True), [1, 8, 8], 10, "softmax_cross_entropy"),
     r"samples have 64 features but the graph's input 'x' expects 1×8×8"),
    ((digits(), [1, 8, 8], 4, "softmax_cross_entropy"),
     "digits has 10 classes \\(labels 0–9\\) but the layer before softmax_cross_entropy "
     "has 4 units: give it 10 units"),
    ((get_dataset("blobs", classes=3), [2], 1, "bce"),
     "bce with 1 output can only tell 2 classes apart, but blobs has 3"),
    ((get_dataset("blobs", classes=3), [2], 2, "mse"), "blobs has 3 classes"),
    ((get_dataset("moons"), [2], 1, "relu"), "no class labels can feed a 'relu' loss"),
])
def test_check_fits_errors(args, message):
    with pytest.raises(DataError, match=message):
        check_fits(*args)


def test_check_fits_names_the_input():
    with pytest.raises(DataError, match="input 'pixels'"):
        check_fits(digits(), [64], 10, "softmax_cross_entropy", input_name="pixels")


def test_make_targets():
    y = np.array([0, 2, 1])
    assert make_targets(y, "softmax_cross_entropy", 3).tolist() == [0, 2, 1]
    assert make_targets(y[:2] % 2, "bce", 1).tolist() == [[0.0], [0.0]]
    one_hot = make_targets(y, "mse", 3, dtype=np.float32)
    assert one_hot.dtype == np.float32 and one_hot.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
