"""Between the Tensors panel's cells and the entries of the pass's tensors (no Qt).

The panel shows one tensor of a step per tab (tensor_view.TensorEntry, keys
"out", "grad_in:0", "in:1", …), for one sample, as a page of 2-D maps or as
bars. `tab_tensor` names a tab's tensor as the explanation does (node and
npz-style tensor: an "in:k" tab shows the output of the node's k-th source);
`cell_index` turns a clicked cell (map index in the tensor, row, column) or
bar into the whole index of that entry, batch axis first; `page_cells`
turns the indices an explanation reads in one tensor into one mask per map
in sight.
"""

from __future__ import annotations

import numpy as np


def tab_tensor(step, network, tab: str) -> tuple[str, str] | None:
    """(node, tensor) that the tab `tab` of `step` shows, or None."""
    if step is None:
        return None
    kind, _, rest = tab.partition(":")
    if kind == "in":
        sources = network.nodes[step.node].inputs if network is not None else []
        return (sources[int(rest)], "out") if int(rest) < len(sources) else None
    tensor = {"out": "out", "grad_out": "grad_out", "target": "target",
              "grad_in": f"grad_in/{rest}", "grad": f"grad/{rest}",
              "param": f"param/{rest}"}.get(kind)
    return (step.node, tensor) if tensor is not None else None


def tab_for(step, network, tabs: list[str], node: str, tensor: str) -> str | None:
    """The first of `tabs` that shows `<node>/<tensor>`, or None."""
    return next((tab for tab in tabs if tab_tensor(step, network, tab) == (node, tensor)),
                None)


def shown_values_shape(shape: tuple[int, ...], per_sample: bool) -> tuple[int, ...]:
    return shape[1:] if per_sample else shape


def cell_index(shape: tuple[int, ...], per_sample: bool, sample: int, map_index: int,
               row: int, col: int) -> tuple[int, ...]:
    """The whole index of the cell (row, col) of map `map_index` of the tensor of
    `shape` as the panel shows it (one sample of it when `per_sample`)."""
    values = shown_values_shape(shape, per_sample)
    lead = (sample,) if per_sample else ()
    if len(values) <= 1:  # bars
        return lead + ((col,) if values else ())
    if len(values) == 2:
        return lead + (row, col)
    maps = tuple(int(i) for i in np.unravel_index(map_index, values[:-2]))
    return lead + maps + (row, col)


def map_position(at: tuple[int, ...], shape: tuple[int, ...],
                 per_sample: bool) -> tuple[int, int, int, int]:
    """(sample, map index, row, col) of the entry `at` (bars: row 0, col = its index)."""
    sample = at[0] if per_sample and at else 0
    rest = at[1:] if per_sample and at else at
    values = shown_values_shape(shape, per_sample)
    if len(values) <= 1:
        return sample, 0, 0, (rest[0] if rest else 0)
    if len(values) == 2:
        return sample, 0, rest[0], rest[1]
    flat = int(np.ravel_multi_index(rest[:-2], values[:-2]))
    return sample, flat, rest[-2], rest[-1]


def page_cells(indices: np.ndarray, shape: tuple[int, ...], per_sample: bool, sample: int,
               first: int, shown: int) -> list[np.ndarray]:
    """One boolean mask per map in sight (maps first … first+shown-1; bars: one mask
    of the vector) marking the `indices` ([n, ndim] whole indices) of that sample."""
    values = shown_values_shape(shape, per_sample)
    if len(values) <= 1:
        masks = [np.zeros(values[0] if values else 1, dtype=bool)]
    else:
        masks = np.zeros((max(shown, 0), *values[-2:]), dtype=bool)
    if indices.size == 0 or not len(masks):
        return list(masks)
    rest = indices
    if per_sample:
        rest = indices[indices[:, 0] == sample][:, 1:]
    if len(values) <= 1:
        masks[0][rest[:, 0] if len(values) else 0] = True
        return masks
    if len(values) == 2:
        flat = np.zeros(len(rest), dtype=np.int64)
    else:
        flat = np.ravel_multi_index(tuple(rest[:, :-2].T), values[:-2])
    keep = (flat >= first) & (flat < first + shown)
    masks[flat[keep] - first, rest[keep, -2], rest[keep, -1]] = True
    return list(masks)
