"""Loading the user's CSV and NPZ files, and every error message they can cause."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.data import DataError, get_dataset, load_user_data


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_without_header(tmp_path):
    path = write(tmp_path, "points.csv", "0.5,1.5,0\n-1,2,1\n\n3,4e-1,2\n")
    data = load_user_data(path)
    assert data.name == "points" and data.sample_shape == (2,)
    np.testing.assert_array_equal(data.x, [[0.5, 1.5], [-1, 2], [3, 0.4]])
    assert data.y.tolist() == [0, 1, 2] and data.y.dtype == np.int64
    assert data.num_classes == 3


def test_csv_with_header_and_float_labels(tmp_path):
    path = write(tmp_path, "iris.csv", "\ufefflength, width ,label\n1,2,1.0\n3,4,0\n")
    data = get_dataset(str(path))
    assert data.x.shape == (2, 2) and data.y.tolist() == [1, 0]


@pytest.mark.parametrize(("text", "message"), [
    ("", "data.csv: the file is empty"),
    ("\n \n", "data.csv: the file is empty"),
    ("a,b,label\n", "header row but no data"),
    ("1,2,0\n3,x,1\n", r"row 2, column 2: 'x' is not a number"),
    ("f1,f2,label\n1,2,0\n3,,1\n", r"row 3, column 2 \('f2'\): is empty"),
    ("1,2,0\n3,nan,1\n", r"row 2, column 2: value nan is not allowed \(NaN or infinite\)"),
    ("1,2,0\n3,4,1.5\n", r"row 2, column 3: label 1.5 is not an integer"),
    ("1,2,0\n3,4,-1\n", r"row 2, column 3: label -1 is negative"),
    ("1,2,0\n3,4\n", "row 2 has 2 columns, expected 3"),
    ("1\n2\n", "at least 2 columns"),
])
def test_csv_errors(tmp_path, text, message):
    path = write(tmp_path, "data.csv", text)
    with pytest.raises(DataError, match=message):
        load_user_data(path)


def test_npz(tmp_path):
    path = tmp_path / "images.npz"
    x = np.arange(2 * 1 * 3 * 3, dtype=np.float32).reshape(2, 1, 3, 3)
    np.savez(path, x=x, y=np.array([1, 0]))
    data = load_user_data(path)
    assert data.sample_shape == (1, 3, 3) and data.x.dtype == np.float64
    np.testing.assert_array_equal(data.x, x)
    assert data.y.tolist() == [1, 0] and data.num_classes == 2


def test_npz_one_dimensional_x_is_one_feature(tmp_path):
    path = tmp_path / "line.npz"
    np.savez(path, x=np.array([0.0, 1.0, 2.0]), y=np.array([0.0, 1.0, 1.0]))
    data = load_user_data(path)
    assert data.x.shape == (3, 1) and data.y.tolist() == [0, 1, 1]


@pytest.mark.parametrize(("arrays", "message"), [
    ({"x": np.zeros((3, 2))}, r"data.npz: missing array 'y' \(found: x\)"),
    ({"y": np.zeros(3)}, "missing array 'x'"),
    ({"x": np.zeros((3, 2)), "y": np.zeros(4)}, r"one label per sample, shape \[3\], got \[4\]"),
    ({"x": np.zeros((3, 2)), "y": np.array([0, 0.5, 1])}, r"y\[1\]: label 0.5 is not an integer"),
    ({"x": np.zeros((3, 2)), "y": np.array([0, -2, 1])}, r"y\[1\]: label -2 is negative"),
    ({"x": np.array([[0, 1], [2, np.nan]]), "y": np.zeros(2)},
     r"NaN or infinite value at x\[1, 1\]"),
    ({"x": np.array([["a", "b"]]), "y": np.zeros(1)}, "'x' must be numeric"),
    ({"x": np.zeros((0, 2)), "y": np.zeros(0)}, "holds no samples"),
])
def test_npz_errors(tmp_path, arrays, message):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message):
        load_user_data(path)


def test_npz_with_object_arrays_is_refused(tmp_path):
    path = tmp_path / "data.npz"
    np.savez(path, x=np.array([[1, 2]], dtype=object), y=np.zeros(1))
    with pytest.raises(DataError, match="data.npz: .*object arrays are not allowed"):
        load_user_data(path)


def test_broken_npz(tmp_path):
    path = write(tmp_path, "data.npz", "not a zip archive")
    with pytest.raises(DataError, match="data.npz: not a readable .npz archive"):
        load_user_data(path)


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(DataError, match="file not found"):
        load_user_data(tmp_path / "nothing.csv")
    with pytest.raises(DataError, match=r"unsupported file type '\.txt'"):
        load_user_data(write(tmp_path, "data.txt", "1,2,0\n"))


def test_files_take_no_options(tmp_path):
    path = write(tmp_path, "data.csv", "1,2,0\n")
    with pytest.raises(DataError, match="takes no options"):
        get_dataset(path, noise=0.1)
