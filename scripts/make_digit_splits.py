"""Split scikit-learn's handwritten digits into two datasets for transfer learning.

    python scripts/make_digit_splits.py --out data

writes data/digits_0_4.npz (the digits 0–4, labels 0–4) and data/digits_5_9.npz
(the digits 5–9, labels 0–4 meaning 5–9), each with x [N, 1, 8, 8] (pixels in
[0, 1]) and y [N], in the NPZ layout `bpviz train --dataset PATH.npz` reads.
resources/examples/transfer_digits.json tells how they are used. Only bpviz's
own API is used: the digits come from bpviz.data.digits, the same samples
`--dataset digits` trains on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bpviz.atomic import atomic_write
from bpviz.data import digits


def write_split(out: Path, name: str, first: int, last: int) -> int:
    """Write the digits first..last, relabelled 0..last − first; returns the count."""
    data = digits()
    chosen = data.subset((data.y >= first) & (data.y <= last))
    x, y = chosen.x.astype(np.float64), (chosen.y - first).astype(np.int64)
    atomic_write(out / f"{name}.npz", lambda handle: np.savez(handle, x=x, y=y))
    return len(y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="data", help="folder to write into (default: data)")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, first, last in (("digits_0_4", 0, 4), ("digits_5_9", 5, 9)):
        count = write_split(out, name, first, last)
        print(f"wrote {out / (name + '.npz')}: {count} images of the digits {first}–{last}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
