"""Every tensor of one forward and backward pass: to .npz, to CSV, to a LaTeX bmatrix.

Keys (node ids as in the graph; the batch axis first where there is one):

    <node>/out            the node's output (activations)          [N, …]
    <node>/grad_out       ∂L/∂(output), summed over its consumers   [N, …]
    <node>/grad_in/<k>    ∂L/∂(input k) the node sends back         [N, …]
    <node>/param/<name>   parameter, torch layout (weight, bias)
    <node>/grad/<name>    ∂L/∂(parameter), summed over the batch
    <loss>/target         a loss node's target y (class labels [N], or [N, …])

`collect_tensors` takes a StepSession (everything) or an Executor after
`run` (everything but grad_in, which an Executor does not keep).

The .npz holds plain numeric arrays (np.load(…, allow_pickle=False) reads
it). The CSV is long: one row per element, `key,index,value`, the index a
tuple of integers like "(0, 2, 5, 1)" ("()" for a scalar), the value with
every digit needed to read back the same float. A CSV grows fast (16
values per sample of an 8×8×… map): above MAX_CSV_VALUES use the .npz.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np

from bpviz.engine.executor import Executor
from bpviz.engine.stepping import StepSession
from bpviz.export.base import Exporter, ExportError, Progress, write_stream

MAX_CSV_VALUES = 5_000_000
MAX_BMATRIX_SIDE = 8
BATCH_KINDS = ("out", "grad_out", "grad_in", "target")


def collect_tensors(source: StepSession | Executor) -> dict[str, np.ndarray]:
    """Every tensor of the pass, keyed as above, in the graph's topological order."""
    if isinstance(source, StepSession):
        return _from_session(source)
    if isinstance(source, Executor):
        return _from_executor(source)
    raise TypeError(f"expected a StepSession or an Executor, got {type(source).__name__}")


def _from_session(session: StepSession) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    backward = {step.node: step for step in session.steps if step.phase == "backward"}
    for node in session.network.order:
        tensors[f"{node.id}/out"] = session.output(node.id)
        if node.id in session.targets and node.op.is_loss:
            tensors[f"{node.id}/target"] = np.asarray(session.targets[node.id])
        for name, value in node.op.params.items():
            tensors[f"{node.id}/param/{name}"] = value
        step = backward.get(node.id)
        if step is None:
            continue
        tensors[f"{node.id}/grad_out"] = step.grad_output
        for name, grad in step.grad_params.items():
            tensors[f"{node.id}/grad/{name}"] = grad
        for port, grad in enumerate(step.grad_inputs):
            if grad is not None:
                tensors[f"{node.id}/grad_in/{port}"] = grad
    return tensors


def _from_executor(executor: Executor) -> dict[str, np.ndarray]:
    tensors: dict[str, np.ndarray] = {}
    for node in executor.network.order:
        if node.id in executor.values:
            tensors[f"{node.id}/out"] = executor.values[node.id]
        if node.id in executor.targets and node.op.is_loss:
            tensors[f"{node.id}/target"] = np.asarray(executor.targets[node.id])
        for name, value in node.op.params.items():
            tensors[f"{node.id}/param/{name}"] = value
        if node.id in executor.grads:
            tensors[f"{node.id}/grad_out"] = executor.grads[node.id]
            for name, grad in (node.op.grads or {}).items():
                tensors[f"{node.id}/grad/{name}"] = grad
    return tensors


def split_key(key: str) -> tuple[str, str, str | None]:
    """'c1/grad/weight' → ('c1', 'grad', 'weight'); 'c1/out' → ('c1', 'out', None).
    A node id may itself contain '/': the kind is found from the right."""
    match = re.fullmatch(r"(.+)/(out|grad_out|target)", key)
    if match:
        return match[1], match[2], None
    match = re.fullmatch(r"(.+)/(grad_in|param|grad)/([^/]+)", key)
    if match:
        return match[1], match[2], match[3]
    raise ExportError(f"'{key}' is not a tensor key (<node>/out, <node>/grad_out, "
                      "<node>/grad_in/<k>, <node>/param/<name>, <node>/grad/<name>, "
                      "<loss>/target)")


def is_gradient(key: str) -> bool:
    return split_key(key)[1] in ("grad_out", "grad_in", "grad")


def has_batch_axis(key: str) -> bool:
    return split_key(key)[1] in BATCH_KINDS


class _TensorExporter(Exporter):
    def __init__(self, source: StepSession | Executor | dict[str, np.ndarray],
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        self.tensors = dict(source) if isinstance(source, dict) else collect_tensors(source)


class NpzExporter(_TensorExporter):
    extensions = (".npz",)

    def data(self) -> dict[str, np.ndarray]:
        """Copies of every tensor, keyed as above."""
        return {key: np.array(value) for key, value in self.tensors.items()}

    def export(self, path=None):
        """As every exporter's, but a file is written one tensor at a time, as
        np.savez_compressed lays it out: the pass is not copied, nor held again
        as the compressed bytes (VGG16's pass in float64 is 3 GiB)."""
        if path is None:
            return super().export()
        self._cancel.clear()
        path = Path(path)
        write_stream(path, self._write_archive)
        return path

    def _write_archive(self, handle) -> None:
        # the fastest deflate: a pass's floats shrink by about as much at level 1
        # (0.55 of their size for ReLU maps) as at zlib's default, in 2/3 of the time
        with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1,
                             allowZip64=True) as archive:
            for done, (key, value) in enumerate(self.tensors.items()):
                with archive.open(f"{key}.npy", "w", force_zip64=True) as entry:
                    np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)
                self.report(done + 1, len(self.tensors))

    def encode(self, data: dict[str, np.ndarray]) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **data)
        return buffer.getvalue()


class CsvExporter(_TensorExporter):
    extensions = (".csv",)

    def data(self) -> str:
        """The long-format CSV text."""
        total = sum(np.size(value) for value in self.tensors.values())
        if total > MAX_CSV_VALUES:
            raise ExportError(f"{total:,} values are too many for a CSV (at most "
                              f"{MAX_CSV_VALUES:,}); export to .npz instead")
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(("key", "index", "value"))
        for done, (key, value) in enumerate(self.tensors.items()):
            array = np.asarray(value)
            for index in np.ndindex(array.shape):
                writer.writerow((key, str(tuple(int(i) for i in index)),
                                 repr(float(array[index]))))
            self.report(done + 1, len(self.tensors))
        return text.getvalue()

    def encode(self, data: str) -> bytes:
        return data.encode("utf-8")


def read_long_csv(path) -> dict[str, np.ndarray]:
    """The tensors of a long-format CSV written by CsvExporter (float64)."""
    import ast

    cells: dict[str, dict[tuple[int, ...], float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            cells.setdefault(row["key"], {})[ast.literal_eval(row["index"])] = float(row["value"])
    tensors = {}
    for key, values in cells.items():
        shape = tuple(max(index[axis] for index in values) + 1
                      for axis in range(len(next(iter(values)))))
        array = np.zeros(shape)
        for index, value in values.items():
            array[index] = value
        tensors[key] = array
    return tensors


# -- LaTeX ----------------------------------------------------------------------------
def parse_selection(text: str) -> tuple[str, tuple[int, ...]]:
    """'c1/grad/weight[3, 0]' → ('c1/grad/weight', (3, 0)); no brackets: ()."""
    match = re.fullmatch(r"\s*(.+?)\s*(?:\[([-\d,\s]*)\])?\s*", text)
    if not match or not match[1]:
        raise ExportError(f"cannot read the tensor {text!r}: expected KEY or KEY[i, j, …]")
    index = ()
    if match[2] is not None and match[2].strip():
        try:
            index = tuple(int(part) for part in match[2].split(","))
        except ValueError:
            raise ExportError(f"cannot read the index in {text!r}") from None
    return match[1], index


def select(tensors: dict[str, np.ndarray], text: str) -> np.ndarray:
    """The tensor (or the part) that `text` names, as KEY or KEY[i, j, …]."""
    key, index = parse_selection(text)
    if key not in tensors:
        nearby = ", ".join(k for k in tensors if k.split("/")[0] == key.split("/")[0]) or \
            ", ".join(list(tensors)[:6]) + ", …"
        raise ExportError(f"no tensor '{key}' in this pass (try: {nearby})")
    value = np.asarray(tensors[key])
    if len(index) > value.ndim:
        raise ExportError(f"'{key}' has {value.ndim} axes, {len(index)} indexes given")
    for axis, (i, size) in enumerate(zip(index, value.shape)):
        if not -size <= i < size:
            raise ExportError(f"index {i} is outside axis {axis} of '{key}' (size {size})")
    return value[index]


def bmatrix(values: np.ndarray, digits: int = 3) -> str:
    """A small tensor as amsmath's bmatrix: axes of length 1 dropped, a vector as a
    column, at most 8×8 entries; numbers with `digits` significant digits."""
    array = np.asarray(values, dtype=np.float64)
    array = array.reshape([d for d in array.shape if d != 1])
    if array.ndim == 0:
        array = array.reshape(1, 1)
    elif array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim > 2:
        raise ExportError(f"a bmatrix shows at most 2 axes; this tensor has shape "
                          f"{tuple(values.shape)}: pick a part, e.g. KEY[0, 0]")
    if max(array.shape) > MAX_BMATRIX_SIDE:
        raise ExportError(f"a bmatrix is for tensors up to {MAX_BMATRIX_SIDE}×{MAX_BMATRIX_SIDE}; "
                          f"this one is {array.shape[0]}×{array.shape[1]}")
    rows = [" & ".join(_tex_number(v, digits) for v in row) for row in array]
    return "\\begin{bmatrix}\n" + " \\\\\n".join(rows) + "\n\\end{bmatrix}\n"


def _tex_number(value: float, digits: int) -> str:
    if not np.isfinite(value):
        return {True: r"\infty", False: r"-\infty"}[value > 0] if np.isinf(value) else r"\text{NaN}"
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa} \\cdot 10^{{{int(exponent)}}}"
    return text


class BmatrixExporter(_TensorExporter):
    extensions = (".tex",)

    def __init__(self, source, selection: str, digits: int = 3, **options) -> None:
        super().__init__(source, **options)
        self.selection, self.digits = selection, digits

    def data(self) -> str:
        return bmatrix(select(self.tensors, self.selection), self.digits)

    def encode(self, data: str) -> bytes:
        return data.encode("utf-8")
