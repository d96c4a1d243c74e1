"""The user's own data: a CSV table or an NPZ archive of arrays.

CSV: one sample per row, numeric feature columns, the last column the
integer class label; the first row may be a header (it is one when any of
its cells is not a number). Blank lines are skipped. Row numbers in messages
are the file's line numbers (1-based, the header counts), columns are 1-based.

NPZ: arrays `x` [N, ...] (numeric; a 1-D x is one feature per sample) and
`y` [N] (integer labels, or floats with integer values), read with
allow_pickle=False.

Labels must be whole numbers ≥ 0; num_classes is the largest label + 1.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bpviz.data.dataset import DataError, Dataset


def load_user_data(path: str | Path) -> Dataset:
    """A Dataset from a .csv or .npz file, named after the file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz"):
        raise DataError(f"{path.name}: unsupported file type '{path.suffix}' "
                        f"(use a .csv table or an .npz archive with arrays x and y)")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    x, y = _read_csv(path) if suffix == ".csv" else _read_npz(path)
    return Dataset(path.stem, x, y, int(y.max()) + 1, x.shape[1:],
                   f"{len(y)} samples loaded from {path.name}.")


def _check_labels(values: np.ndarray, where: Callable[[int], str], file: str) -> np.ndarray:
    """Float or integer labels [N] → int64, or a DataError naming the first bad one."""
    if np.issubdtype(values.dtype, np.integer) or values.dtype == np.bool_:
        labels = values.astype(np.int64)
    else:
        bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
        if bad.size:
            i = int(bad[0])
            raise DataError(f"{file}: {where(i)}: label {float(values[i])!r} is not an integer "
                            f"(labels are class numbers 0, 1, 2, …)")
        labels = values.astype(np.int64)
    negative = np.flatnonzero(labels < 0)
    if negative.size:
        i = int(negative[0])
        raise DataError(f"{file}: {where(i)}: label {labels[i]} is negative "
                        f"(labels are class numbers 0, 1, 2, …)")
    return labels


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, cells) of every non-blank row."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = [(number, [cell.strip() for cell in row])
                    for number, row in enumerate(csv.reader(f), start=1)]
    except UnicodeDecodeError as error:
        raise DataError(f"{path.name}: not a UTF-8 text file ({error.reason})") from None
    except csv.Error as error:
        raise DataError(f"{path.name}: not a valid CSV file ({error})") from None
    return [(number, row) for number, row in rows if any(row)]


def _read_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """x [N, F] float64 and y [N] int64 from a CSV file."""
    file = path.name
    rows = _csv_rows(path)
    if not rows:
        raise DataError(f"{file}: the file is empty")
    header: list[str] = []
    if any(_number(cell) is None for cell in rows[0][1]):
        header = rows[0][1]
        rows = rows[1:]
        if not rows:
            raise DataError(f"{file}: there is a header row but no data")
    width = len(header) if header else len(rows[0][1])
    if width < 2:
        raise DataError(f"{file}: needs at least 2 columns (features, then the label), "
                        f"found {width}")

    def column(c: int) -> str:
        return f"column {c + 1} ('{header[c]}')" if header else f"column {c + 1}"

    table = np.empty((len(rows), width))
    for i, (number, row) in enumerate(rows):
        if len(row) != width:
            raise DataError(f"{file}: row {number} has {len(row)} columns, expected {width}")
        for c, cell in enumerate(row):
            value = _number(cell)
            if value is None:
                what = "is empty" if not cell else f"'{cell}' is not a number"
                raise DataError(f"{file}: row {number}, {column(c)}: {what}")
            if not np.isfinite(value):
                raise DataError(f"{file}: row {number}, {column(c)}: "
                                f"value {cell} is not allowed (NaN or infinite)")
            table[i, c] = value
    y = _check_labels(table[:, -1], lambda i: f"row {rows[i][0]}, {column(width - 1)}", file)
    return table[:, :-1], y


def _npz_arrays(path: Path) -> dict[str, np.ndarray]:
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path.name}: not a readable .npz archive (np.savez writes one: "
                        f"a zip file of arrays)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            missing = [k for k in ("x", "y") if k not in keys]
            if missing:
                found = ", ".join(keys) or "no arrays"
                raise DataError(f"{path.name}: missing array '{missing[0]}' (found: {found}); "
                                f"an .npz needs x [N, ...] and y [N]")
            return {k: archive[k] for k in ("x", "y")}
    except DataError:
        raise
    except ValueError as error:
        # NOTE: object arrays need pickle, which could run arbitrary code: refused.
        raise DataError(f"{path.name}: holds arrays that cannot be read safely "
                        f"(object arrays are not allowed): {error}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path.name}: not a readable .npz archive ({error})") from None


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """x [N, ...] float64 and y [N] int64 from an NPZ archive."""
    file = path.name
    arrays = _npz_arrays(path)
    x, y = arrays["x"], arrays["y"]
    for key, array in (("x", x), ("y", y)):
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)
                or array.dtype == np.bool_):
            raise DataError(f"{file}: array '{key}' must be numeric, got dtype {array.dtype}")
    if x.ndim == 0 or x.shape[0] == 0:
        raise DataError(f"{file}: array 'x' holds no samples (shape {list(x.shape)})")
    x = x.astype(np.float64).reshape(len(x), -1) if x.ndim == 1 else x.astype(np.float64)
    if y.shape != (len(x),):
        raise DataError(f"{file}: array 'y' must hold one label per sample, shape [{len(x)}], "
                        f"got {list(y.shape)}")
    bad = np.argwhere(~np.isfinite(x))
    if bad.size:
        index = ", ".join(map(str, bad[0]))
        raise DataError(f"{file}: array 'x' has a NaN or infinite value at x[{index}]")
    return x, _check_labels(y, lambda i: f"y[{i}]", file)
