"""The entry of a pass tensor the user has chosen to explain (no Qt).

A ChosenEntry names one number of the pass: its node, its tensor (the key
after `<node>/` in the npz export: "out", "grad_out", "grad_in/0",
"grad/weight", "param/weight", "target") and its whole index, batch axis
first. The workspace holds at most one (`Workspace.entry`); the Tensors
panel chooses it, the Formula panel explains it (bpviz.engine.explain), the
other views highlight what it reads.

What a step shows. `shown_keys(step, network)` lists the npz keys of the
tensors one step of a pass puts in the Tensors panel: its node's output,
∂L/∂out, the gradients it sends back and those of its parameters, the
parameters, the target of a loss, and its inputs (their sources' outputs).
A choice survives a move of the pass to a step that still shows its tensor;
otherwise, and when the pass is dropped, it goes.

`moved(entry, shape, rows, columns, maps)` is the entry an arrow key leads
to: the last axis is a map's columns, the one before its rows, and the
axes before those (apart from the batch axis) number the maps; it stops at
the edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ChosenEntry:
    node: str
    tensor: str  # "out", "grad_out", "grad_in/<k>", "grad/<p>", "param/<p>", "target"
    at: tuple[int, ...]

    @property
    def key(self) -> str:
        """The npz key of its tensor: "<node>/<tensor>"."""
        return f"{self.node}/{self.tensor}"

    def text(self) -> str:
        return f"{self.key}[{','.join(str(i) for i in self.at)}]"


def batched(tensor: str) -> bool:
    """Whether a tensor of this kind has the batch axis first (parameters and their
    gradients have none; a loss's output is a scalar, its ndim tells)."""
    return not tensor.startswith(("param/", "grad/"))


def shown_keys(step, network) -> set[str]:
    """The npz keys of the tensors `step` shows (see the module's docstring)."""
    if step is None:
        return set()
    node = step.node
    keys = {f"{node}/out"}
    if step.grad_output is not None:
        keys.add(f"{node}/grad_out")
    keys.update(f"{node}/grad_in/{k}" for k, grad in enumerate(step.grad_inputs)
                if grad is not None)
    keys.update(f"{node}/grad/{name}" for name in step.grad_params)
    if step.target is not None:
        keys.add(f"{node}/target")
    spec = network.nodes.get(node) if network is not None else None
    if spec is not None:
        keys.update(f"{node}/param/{name}" for name in spec.op.params)
        keys.update(f"{source}/out" for source in spec.inputs)
    return keys


def moved(entry: ChosenEntry, shape: tuple[int, ...], rows: int = 0, columns: int = 0,
          maps: int = 0) -> ChosenEntry:
    """The entry `rows` down, `columns` right and `maps` maps on, within `shape`."""
    at = list(entry.at)
    if not at:
        return entry
    lead = 1 if batched(entry.tensor) and len(at) > 1 else 0
    if len(at) - lead == 1:  # a vector: its bars run left to right
        at[-1] = _clamp(at[-1] + columns + rows, shape[-1])
        return ChosenEntry(entry.node, entry.tensor, tuple(at))
    at[-1] = _clamp(at[-1] + columns, shape[-1])
    at[-2] = _clamp(at[-2] + rows, shape[-2])
    map_axes = tuple(range(lead, len(at) - 2))
    if maps and map_axes:
        map_shape = tuple(shape[a] for a in map_axes)
        flat = int(np.ravel_multi_index(tuple(at[a] for a in map_axes), map_shape))
        flat = _clamp(flat + maps, int(np.prod(map_shape)))
        for axis, index in zip(map_axes, np.unravel_index(flat, map_shape)):
            at[axis] = int(index)
    return ChosenEntry(entry.node, entry.tensor, tuple(at))


def _clamp(value: int, size: int) -> int:
    return min(max(int(value), 0), size - 1)
