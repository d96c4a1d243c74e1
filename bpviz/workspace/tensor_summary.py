"""What the Tensors panel draws of a tensor, made in one cheap pass or once per pass.

`summarise(values, diverging)` gives a Summary: the colour range (±max|v|
for gradients and parameters, min … max for activations; only finite values
count), min, max, ‖·‖ and the histogram counts over the colour range
(HISTOGRAM_BINS, fewer for a few values). `reduce_map(map, rows, cols)`
shrinks a 2-D map for drawing to at most rows × cols pixels, each the mean
of a block of the map (uneven blocks at the edges, no padding copy), and
says by how much: a 64×224×224 feature map is drawn as 112×112 pictures in
a small panel, never at full size, and fc6's 4096×25088 weights as 256×256.

`Summaries` keeps both by array identity for the pass it belongs to (a
pass's arrays never change): `prepare(session)` runs on the worker that
built the pass and makes them for every tensor of more than BIG values that
the panel shows whole (parameters, their gradients, an update step's
tensors), so that stepping onto fc6 costs no pass over its 102 M weights on
the UI thread; and every sample of every batch tensor with more than
SAMPLE_BIG values per sample (outputs, inputs, gradients: VGG16's first
maps are 64×224×224 a sample). Smaller ones are summarised as they are
shown, in well under a millisecond.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpviz.engine.stepping import StepSession
from bpviz.engine.updating import UpdateStep

BIG = 1_000_000  # values: tensors larger than this are summarised once, on the worker
SAMPLE_BIG = 65_536  # values: so are the samples of a batch larger than this
PICTURE_SIDE = 256  # pixels: the largest side of a prepared picture
MIN_BINS, HISTOGRAM_BINS = 5, 40
CHUNK = 1 << 20  # values summed at a time
# What the panels' drawing holds at most: a page of 16 map pictures of 256² float64
# values and their ARGB images, a summary's chunk temporaries, the pictures of
# the big matrices (256² float64 each, a few dozen in VGG16), with room to spare.
DRAWING_BYTES = 64 * 2**20


@dataclass(frozen=True)
class Summary:
    levels: tuple[float, float]  # the colour range
    minimum: float
    maximum: float
    norm: float
    counts: np.ndarray  # the histogram over `levels`, len(edges) - 1 bins
    edges: np.ndarray
    size: int  # values summarised (the finite ones)


def bin_count(size: int) -> int:
    """Twice the square root of the number of values, between MIN_BINS and HISTOGRAM_BINS."""
    return int(np.clip(np.sqrt(size) * 2, MIN_BINS, HISTOGRAM_BINS))


def colour_levels(low: float, high: float, diverging: bool) -> tuple[float, float]:
    """The colour range of values from `low` to `high` (export.colours.levels' rule)."""
    if diverging:
        top = max(abs(low), abs(high))
        return (-top, top) if top > 0 else (-1.0, 1.0)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def summarise(values: np.ndarray, diverging: bool) -> Summary:
    """Range, extremes, norm and histogram of the finite values, in a few passes."""
    flat = np.asarray(values).reshape(-1)
    if flat.size == 0:
        return _empty(diverging)
    low, high = float(flat.min()), float(flat.max())
    if not (math.isfinite(low) and math.isfinite(high)):
        flat = flat[np.isfinite(flat)]
        if flat.size == 0:
            return _empty(diverging)
        low, high = float(flat.min()), float(flat.max())
    levels = colour_levels(low, high, diverging)
    bins = bin_count(flat.size)
    counts, squares = np.zeros(bins, dtype=np.intp), 0.0
    for start in range(0, flat.size, CHUNK):  # NOTE: no temporary as large as the tensor
        chunk = flat[start:start + CHUNK]
        counts += histogram(chunk, levels, bins)
        wide = chunk.astype(np.float64, copy=False)
        squares += float(np.dot(wide, wide))
    edges = np.linspace(levels[0], levels[1], bins + 1)
    return Summary(levels, low, high, math.sqrt(squares), counts, edges, int(flat.size))


def histogram(flat: np.ndarray, levels: tuple[float, float], bins: int) -> np.ndarray:
    """Counts of values (all within `levels`) in `bins` equal bins, the last one closed."""
    low, high = levels
    index = ((flat - low) * (bins / (high - low))).astype(np.intp)
    np.clip(index, 0, bins - 1, out=index)
    return np.bincount(index, minlength=bins)[:bins]


def _empty(diverging: bool) -> Summary:
    levels = (-1.0, 1.0) if diverging else (0.0, 1.0)
    nan = float("nan")
    return Summary(levels, nan, nan, nan, np.zeros(0, dtype=np.intp), np.zeros(0), 0)


def reduction(rows: int, cols: int, most_rows: int, most_cols: int) -> tuple[int, int]:
    """The block (rows, cols) that brings a rows × cols map within most_rows × most_cols."""
    return max(1, math.ceil(rows / max(most_rows, 1))), max(1, math.ceil(cols / max(most_cols, 1)))


def reduce_map(values: np.ndarray, most_rows: int,
               most_cols: int) -> tuple[np.ndarray, tuple[int, int]]:
    """(the map as at most most_rows × most_cols block means, the block); a map that
    fits is returned as it is, block (1, 1). Non-finite values stay visible: a block
    with a NaN is NaN."""
    rows, cols = values.shape
    fr, fc = reduction(rows, cols, most_rows, most_cols)
    if fr == 1 and fc == 1:
        return values, (1, 1)
    row_starts, col_starts = np.arange(0, rows, fr), np.arange(0, cols, fc)
    # NOTE: a few block rows at a time: reduceat keeps the GIL, and the UI thread
    # waits for it while a worker shrinks fc6's 102 M weights
    group = max(1, CHUNK // max(fr * cols, 1))
    parts = []
    for first in range(0, len(row_starts), group):
        starts = row_starts[first:first + group]
        end = row_starts[first + group] if first + group < len(row_starts) else rows
        block = np.add.reduceat(values[starts[0]:end], starts - starts[0], axis=0,
                                dtype=np.float64)
        parts.append(np.add.reduceat(block, col_starts, axis=1))
    sums = np.concatenate(parts)
    heights = np.diff(np.append(row_starts, rows))
    widths = np.diff(np.append(col_starts, cols))
    return sums / np.outer(heights, widths), (fr, fc)


class Summaries:
    """Summaries and pictures of a pass's big tensors, by array identity."""

    def __init__(self) -> None:
        self._summaries: dict[tuple[int, bool], tuple[np.ndarray, Summary]] = {}
        self._pictures: dict[int, tuple[np.ndarray, np.ndarray, tuple[int, int]]] = {}

    def summary(self, array: np.ndarray, diverging: bool, sample: int | None = None
                ) -> Summary:
        """The kept summary of `array` (of its `sample`, batch first), else one made
        now (kept when it is big)."""
        key = (id(array), sample, diverging)
        kept = self._summaries.get(key)
        if kept is not None and kept[0] is array:
            return kept[1]
        values = array if sample is None else array[sample]
        made = summarise(values, diverging)
        if values.size > (BIG if sample is None else SAMPLE_BIG):
            self._summaries[key] = (array, made)
        return made

    def picture(self, values: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
        """The prepared picture of a big matrix (and its block), or None."""
        kept = self._pictures.get(id(values))
        return (kept[1], kept[2]) if kept is not None and kept[0] is values else None

    def prepare(self, session: StepSession, stop: Callable[[], None] | None = None) -> None:
        """Summaries (and the pictures of matrices) of the big tensors the panel shows
        whole; `stop()` is called between tensors and may raise (a Cancel)."""
        for values in whole_tensors(session):
            if values.size <= BIG:
                continue
            if stop is not None:
                stop()
            self.summary(values, True)  # whole tensors are gradients and parameters
            if values.ndim == 2:
                picture, block = reduce_map(values, PICTURE_SIDE, PICTURE_SIDE)
                self._pictures[id(values)] = (values, picture, block)
        for array, diverging in batch_tensors(session):
            if array.ndim < 2 or array[0].size <= SAMPLE_BIG:
                continue
            if stop is not None:
                stop()
            for sample in range(array.shape[0]):
                self.summary(array, diverging, sample)

    def nbytes(self) -> int:
        return sum(picture.nbytes for _, picture, _ in self._pictures.values())


def batch_tensors(session: StepSession) -> list[tuple[np.ndarray, bool]]:
    """Every tensor with a batch axis that some step shows, once each, and whether
    it is a gradient (a diverging colour map)."""
    seen: dict[tuple[int, bool], tuple[np.ndarray, bool]] = {}
    for step in session.steps:
        shown = [(step.output, False), *[(value, False) for value in step.inputs],
                 (step.grad_output, True), *[(grad, True) for grad in step.grad_inputs]]
        for array, diverging in shown:
            if isinstance(array, np.ndarray):
                seen.setdefault((id(array), diverging), (array, diverging))
    return list(seen.values())


def whole_tensors(session: StepSession) -> list[np.ndarray]:
    """Every tensor without a batch axis that some step shows, once each."""
    seen: dict[int, np.ndarray] = {}
    nodes = session.network.nodes
    for step in session.steps:
        arrays = list(step.grad_params.values())
        if step.node in nodes:
            arrays += list(nodes[step.node].op.params.values())
        if isinstance(step, UpdateStep):
            arrays += [*step.params_before.values(), *step.params_after.values(),
                       *step.deltas.values()]
            arrays += [value for state in step.state_after.values()
                       for value in state.values() if isinstance(value, np.ndarray)]
        for array in arrays:
            if isinstance(array, np.ndarray):
                seen.setdefault(id(array), array)
    return list(seen.values())
