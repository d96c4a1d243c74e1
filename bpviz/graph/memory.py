"""Peak memory of a pass, known before it is spent, and the limit it must fit in.

Every path that runs a graph asks here first: `Footprint(doc)` infers the
shapes once (no array is allocated), `footprint.estimate(path, batch, dtype)`
adds up what the engine will hold at its peak, part by part, and `fit(…)`
raises MemoryLimitError, naming the estimate, the limit and the largest
batch that fits, when it would not fit. The paths:

  "engine"   Executor.run or a Trainer's pass: parameters, their gradients,
             every activation of the batch (let go during backward, so their
             gradients count only two layers at a time), the convolutions'
             padded inputs, the block of im2col columns each thread makes at a
             time, and ∂L/∂Z and ∂L/∂U in the convolutions' own layouts.
  "session"  a StepSession (export, explain, snapshot, the window's pass): as
             "engine", but every ∂L/∂out (and the sum at a fork) is kept too.
  "train"    "engine" plus the optimizer's state (SGD with momentum: one copy
             of the parameters, Adam: two) and the copies the trainer makes of
             the parameters, the state and the gradients (to pause at a NaN);
             with its evaluation batch, the larger of the training pass and the
             evaluation pass (`evaluation_batch` picks the most samples at once
             that fit: a trainer's 256 images of 224×224 may not).
  "check"    `bpviz check` (bpviz.oracle.compare): the torch library, the
             parameters, the engine's forward with what it keeps, and the
             largest of its three stages: the engine's forward (its blocks of
             im2col columns); torch in the other precision (its activations, its
             outputs and ∂L/∂out kept in float32, one layer's weights cast);
             torch in the checked precision (its activations, the other
             precision's float32 results, and the engine's gradient of the
             largest parameter, which torch hands over in blocks of rows).

Sizes follow bpviz.engine's own choices (bpviz.engine.ops.lowering: the
column layout and its blocks; bpviz.engine.scratch: one buffer per scratch
key, as big as the largest use). "runtime" is what the process holds already
(its resident memory when the estimate is made: the interpreter, NumPy, Qt in
the window, loaded data).

A path that holds more adds its own part, as a function of the batch size so
that the largest batch that fits still comes out right:

    extra = lambda batch: {"torch": 3 * footprint.activation_bytes(batch, dtype)}
    fit(footprint, "session", batch, dtype, memory_limit(option), extra=extra)

A command passes such a function to bpviz.cli.common.prepare_run(args, extra=…)
(`bpviz check` estimates the "check" path instead); the window's torch check
(bpviz.workspace.passes.torch_check_refusal) counts torch as the engine's pass
in float64 and float32 beside the window's own.

The limit (`memory_limit`): `--max-memory SIZE` if given, else the environment
variable BPVIZ_MAX_MEMORY, else the memory the machine has available now
(psutil) plus what this process holds already, less a margin of
max(256 MiB, 5 % of the machine's memory). SIZE is bytes or a number with
K, M, G or T (powers of 1024), e.g. 512M, 2G, 1.5G.

Measured (`python -m bpviz.bench.memory`, `python -m bpviz.bench.check_memory`):
the estimate is within ±30 % of the peak resident memory on VGG16 at batch 1
and 2 in float32 and float64, and for `bpviz check` on VGG16 at batch 1 in
float32 and float64 and ResNet-50 at batch 2 in float32 (README, Speed).
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.ops.conv1x1 import OneByOne
from bpviz.engine.ops.lowering import SMALL_WIDTH, WIDE_MIN, Blocks, wanted_columns
from bpviz.engine.parallel import thread_count
from bpviz.engine.scratch import POOL_BYTES
from bpviz.graph.document import GraphDocument
from bpviz.graph.limits import format_bytes, numel
from bpviz.graph.shapes import ShapeReport, infer_shapes, make_op

PATHS = ("engine", "session", "train", "check")
TORCH_LIBRARY_BYTES = 200 * 2**20  # what importing torch adds to a process (measured: 191 MiB)
KEPT_DTYPE = np.dtype(np.float32)  # the torch check keeps the other precision's results so
STATE_COPIES = {None: 0, "sgd": 1, "adam": 2}  # optimizer state, in copies of the parameters
ENV_VARIABLE = "BPVIZ_MAX_MEMORY"
MIN_MARGIN = 256 * 2**20
MARGIN_SHARE = 0.05
UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}

Extra = Callable[[int], dict[str, int]]
"""batch size → a path's own parts in bytes (e.g. the oracle's torch tensors)."""


class MemoryLimitError(ValueError):
    """A pass would not fit in the memory limit; the message says by how much."""

    def __init__(self, message: str, estimate: MemoryEstimate, limit: Limit,
                 largest: int) -> None:
        super().__init__(message)
        self.estimate, self.limit, self.largest = estimate, limit, largest

    def short(self) -> str:
        """One line for a window's bar: the estimate, the limit, the largest batch."""
        estimate, limit = self.estimate, self.limit
        advice = (f"the largest batch that fits is {self.largest}" if self.largest
                  else "not even a batch of 1 fits")
        return (f"not enough memory: a batch of {estimate.batch} ({estimate.dtype}) needs about "
                f"{format_bytes(estimate.total)}, the limit is {format_bytes(limit.bytes)} "
                f"({limit.source}); {advice}")


@dataclass(frozen=True)
class Limit:
    bytes: int
    source: str  # "--max-memory", "BPVIZ_MAX_MEMORY" or "available memory"

    def text(self) -> str:
        return f"{format_bytes(self.bytes)} ({self.source})"


@dataclass
class MemoryEstimate:
    """The parts of a pass's peak memory, in bytes."""

    path: str
    batch: int
    dtype: str
    parts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def plus(self, parts: dict[str, int]) -> MemoryEstimate:
        merged = dict(self.parts)
        for name, count in parts.items():
            merged[name] = merged.get(name, 0) + int(count)
        return MemoryEstimate(self.path, self.batch, self.dtype, merged)

    def text(self) -> str:
        """'1.44 GiB (parameters 527.9 MiB, gradients …)', the largest parts first."""
        shown = sorted(((count, name) for name, count in self.parts.items() if count),
                       reverse=True)
        return (f"{format_bytes(self.total)} ("
                + ", ".join(f"{name} {format_bytes(count)}" for count, name in shown) + ")")


@dataclass(frozen=True)
class _Conv:
    """One convolution's im2col sizes (see lowering.py): per sample, in values."""

    padded: int  # C·(Hp + wide)·Wp
    output_grad: int  # ∂L/∂Z in the GEMM's order: out·(lead + H'·Wc + tail)
    correlates: bool  # ∂L/∂U by correlation: ∂L/∂Z in a zeroed buffer of its own
    input_grad: int  # ∂L/∂U as the conv makes it, padded: C·Hp·Wp or C·H·Wp
    k: int  # rows of the columns, C·kh·kw (0: a 1×1 conv, no columns)
    out: int
    rows: int  # output rows H'
    row_columns: int  # GEMM columns per output row, Wc
    back: tuple[int, int, int, int] | None  # the correlation's (rows, out, H, Wp)

    def block_bytes(self, batch: int, itemsize: int) -> int:
        """The largest block of columns one thread makes for a batch (forward or backward)."""
        if self.k == 0:  # a 1×1 conv: no columns
            return 0
        blocks = Blocks(batch, self.rows, self.row_columns,
                        wanted_columns(self.k, self.out, itemsize))
        g0, g1, i0, i1 = blocks.first
        largest = self.k * (g1 - g0) * (i1 - i0) * self.row_columns
        if self.back is not None:
            k, c, h, wp = self.back
            g0, g1, i0, i1 = Blocks(batch, h, wp, wanted_columns(k, c, itemsize)).first
            largest = max(largest, k * (g1 - g0) * (i1 - i0) * wp)
        return largest * itemsize


class Footprint:
    """What a graph holds per sample and in all, from its shapes alone."""

    def __init__(self, doc: GraphDocument, report: ShapeReport | None = None) -> None:
        report = report if report is not None else infer_shapes(doc)
        self.report = report
        nodes = [node_id for node_id in report.order if report.shapes.get(node_id) is not None]
        self.parameters = sum(report.param_counts.get(i, 0) for i in nodes)
        self.buffers = sum(report.buffer_counts.get(i, 0) for i in nodes)
        self.trainable = sum(report.param_counts.get(i, 0) for i in nodes
                             if doc.nodes[i].trainable)
        # one node's parameters: the largest gradient, the largest layer cast
        self.largest_layer = max((report.param_counts.get(i, 0) for i in nodes), default=0)
        ops = {i: doc.nodes[i].op for i in nodes}
        sizes = {i: numel(report.shapes[i]) for i in nodes}
        # Outputs that are new arrays (flatten returns a view, input its batch).
        self.values = sum(sizes[i] for i in nodes if ops[i] not in ("flatten", "input"))
        self.inputs = sum(sizes[i] for i in nodes if ops[i] == "input")
        self.largest = max(sizes.values(), default=0)
        consumers = doc.consumers()
        self.gradients = sum(sizes.values())
        self.fork_sums = sum(sizes[i] for i in nodes if len(consumers.get(i, ())) > 1)
        # What ops cache beyond their output: batchnorm x̂, dropout's mask.
        self.caches = sum(sizes[i] for i in nodes if ops[i] in ("batchnorm", "dropout"))
        self.convs = [conv for i in nodes if ops[i] == "conv2d"
                      for conv in [_conv_sizes(doc, report, i)] if conv is not None]
        self.live = _forward_live(doc, nodes, sizes, consumers)

    # -- per part ---------------------------------------------------------------
    def activation_bytes(self, batch: int, dtype) -> int:
        """Every node's output for a batch: what a copy of the whole pass's values takes."""
        return batch * (self.values + self.inputs) * np.dtype(dtype).itemsize

    def _columns(self, batch: int, itemsize: int) -> dict[str, int]:
        blocks, shared_grad, own_grads, padded, back = 0, 0, 0, 0, 0
        for conv in self.convs:
            blocks = max(blocks, conv.block_bytes(batch, itemsize))
            grad = batch * conv.output_grad * itemsize
            if conv.correlates:
                own_grads += grad
            else:
                shared_grad = max(shared_grad, grad)
            padded += batch * conv.padded * itemsize
            back = max(back, batch * conv.input_grad * itemsize)
        blocks *= thread_count()  # each thread makes its own blocks
        grads = min(shared_grad + own_grads, POOL_BYTES)
        return {"im2col blocks": blocks, "conv ∂L/∂Z": grads,
                "padded inputs": padded, "conv ∂L/∂U": back}

    def update_phase(self, batch: int, dtype, state: str | None,
                     continuing: bool = False) -> dict[str, int]:
        """What a pass's update phase holds beside the pass (bpviz.engine.updating):
        θ after (the twin network's own), Δθ and the optimizer's state after the
        step (`state`: "sgd" with momentum, one copy; "adam", two; None, none), the
        state before too when the step continues a run, and while it is made the
        twin network's cached activations and its second forward pass. θ before is
        the network's and ∂L/∂θ the backward pass's: not copied."""
        s = np.dtype(dtype).itemsize
        copies = 2 + STATE_COPIES.get(state, 1) * (2 if continuing else 1)
        return {"update phase": copies * self.trainable * s
                + 2 * self.activation_bytes(batch, dtype)}

    def _evaluation(self, batch: int, itemsize: int) -> tuple[int, int]:
        """(what an evaluation pass of `batch` holds beside the network, the size its
        blocks of columns grow each thread's buffer to).

        An evaluation lets go of outputs as it goes (Executor.run without backward):
        the outputs alive at once (`live`), the batch itself and every convolution's
        padded input: a conv keeps its padded input until a batch of another size
        replaces it, so at the last conv all are the evaluation's."""
        blocks = max((conv.block_bytes(batch, itemsize) for conv in self.convs), default=0)
        padded = sum(conv.padded for conv in self.convs) * batch * itemsize
        return (batch * (self.inputs + self.live) * itemsize + padded,
                blocks * thread_count())

    def estimate(self, path: str, batch: int, dtype, optimizer: str | None = None,
                 extra: Extra | None = None, runtime: int | None = None,
                 evaluation: int = 0) -> MemoryEstimate:
        """The peak of `path` ("engine", "session" or "train") for a batch of `batch`.

        optimizer: "sgd" (with momentum), "adam" or None, for "train"; with
        "+pause" ("adam+pause") for a trainer that pauses at a NaN (the window's).
        runtime: what the process holds already (default: its resident memory now).
        evaluation: for "train", the samples evaluated at once (forward only); the
        peak is the larger of the training pass and the evaluation pass, since the
        training pass lets go of its activations before an evaluation begins.
        """
        if path not in PATHS:
            raise ValueError(f"unknown path {path!r}; choose one of {', '.join(PATHS)}")
        dtype = np.dtype(dtype)
        s = dtype.itemsize
        parts = {"runtime": resident_bytes() if runtime is None else runtime,
                 "parameters": (self.parameters + self.buffers) * s,
                 "parameter gradients": self.trainable * s,
                 "batch": batch * self.inputs * s,
                 "activations": batch * (self.values + self.caches) * s}
        if path == "check":
            return self._check(parts, batch, dtype, extra)
        if path == "session":
            parts["∂L/∂out of every node"] = batch * (self.gradients + self.fork_sums) * s
        else:  # let go during backward: a layer's ∂L/∂out and ∂L/∂in at a time
            parts["∂L/∂out in flight"] = 2 * batch * self.largest * s
        parts.update(self._columns(batch, s))
        if path == "train":
            state = STATE_COPIES.get((optimizer or "").removesuffix("+pause") or None, 1)
            parts["optimizer state"] = state * self.trainable * s
            # the trainer's copy of the parameters before a step (to report how far
            # they moved); pausing at a NaN (the window) also keeps the state and
            # the gradients
            copies = 2 + state if optimizer and optimizer.endswith("+pause") else 1
            parts["trainer's copies"] = copies * self.trainable * s
            if evaluation:
                parts.update(self._evaluation_parts(parts, evaluation, s))
        estimate = MemoryEstimate(path, batch, dtype.name, parts)
        return estimate.plus(extra(batch)) if extra is not None else estimate

    def _check(self, parts: dict[str, int], batch: int, dtype: np.dtype,
               extra: Extra | None) -> MemoryEstimate:
        """The "check" path (module docstring): the common parts and the largest stage."""
        s, kept = dtype.itemsize, KEPT_DTYPE.itemsize
        other = np.dtype(np.float64 if dtype == np.float32 else np.float32)
        del parts["parameter gradients"]  # one layer's at a time, counted in the stages
        columns = self._columns(batch, s)
        parts["torch (the library)"] = TORCH_LIBRARY_BYTES
        parts["padded inputs"] = columns["padded inputs"]  # kept for the backward
        values = batch * (self.values + self.inputs)
        stages = {
            "engine forward": {"im2col blocks": columns["im2col blocks"]},
            "torch in the other precision": {
                f"torch's pass in {other.name}": values * other.itemsize,
                "its outputs and ∂L/∂out kept in float32": 2 * values * kept,
                f"one layer's weights in {other.name}": self.largest_layer * other.itemsize},
            "torch in the checked precision": {
                f"torch's pass in {dtype.name}": values * s,
                "the other precision's results kept in float32": 2 * values * kept,
                "the largest parameter gradient": self.largest_layer * s,
                # the engine's backward runs beside it, node by node
                "conv ∂L/∂Z": columns["conv ∂L/∂Z"], "conv ∂L/∂U": columns["conv ∂L/∂U"]}}
        parts.update(max(stages.values(), key=lambda stage: sum(stage.values())))
        estimate = MemoryEstimate("check", batch, dtype.name, parts)
        return estimate.plus(extra(batch)) if extra is not None else estimate

    def _evaluation_parts(self, parts: dict[str, int], evaluation: int,
                          itemsize: int) -> dict[str, int]:
        """The scratch buffer as the evaluation grows it, and what the evaluation
        pass holds beyond the training pass (0 when it holds less)."""
        held, blocks = self._evaluation(evaluation, itemsize)
        # each thread's block buffer keeps the larger size for the rest of the run
        scratch = max(parts["im2col blocks"], blocks)
        training = sum(parts[name] for name in (
            "batch", "activations", "∂L/∂out in flight", "conv ∂L/∂Z",
            "padded inputs", "conv ∂L/∂U"))
        return {"im2col blocks": scratch,
                "evaluation beyond the training pass": max(0, held - training)}

    def largest_batch(self, path: str, dtype, limit: int, optimizer: str | None = None,
                      extra: Extra | None = None, runtime: int | None = None,
                      evaluation: int = 0) -> int:
        """The largest batch whose estimate fits in `limit` bytes (0: not even one)."""
        runtime = resident_bytes() if runtime is None else runtime

        def fits(batch: int) -> bool:
            return self.estimate(path, batch, dtype, optimizer, extra, runtime,
                                 evaluation).total <= limit

        if not fits(1):
            return 0
        low, high = 1, 2
        while fits(high):
            low, high = high, high * 2
            if high > 2**40:
                return low
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (middle, high) if fits(middle) else (low, middle)
        return low


def network_bytes(network) -> int:
    """What a built Network's parameters and buffers take (for `built`)."""
    return sum(value.nbytes for node in network.order
               for arrays in (node.op.params, node.op.buffers) for value in arrays.values())


def evaluation_batch(footprint: Footprint, batch: int, dtype, limit: Limit,
                     optimizer: str | None = None, extra: Extra | None = None,
                     most: int = 256, built: int = 0) -> int:
    """The samples a trainer evaluates at once: the most (up to `most`) whose
    evaluation pass fits in `limit` beside training with `batch`; 1 when none does
    (then training itself does not fit, and `fit` says so). built: as for `fit`."""
    runtime = max(0, resident_bytes() - built)

    def fits(size: int) -> bool:
        return footprint.estimate("train", batch, dtype, optimizer, extra, runtime,
                                  size).total <= limit.bytes

    if most <= 1 or fits(most):
        return max(1, most)
    low, high = 1, most  # fits(high) is False
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _conv_sizes(doc: GraphDocument, report: ShapeReport, node_id: str) -> _Conv | None:
    node = doc.nodes[node_id]
    op, _ = make_op(node)
    if op is None or not node.inputs or report.shapes.get(node.inputs[0]) is None:
        return None
    c, h, w = report.shapes[node.inputs[0]]
    out, oh, ow = report.shapes[node_id]
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = op._geometry()
    if OneByOne.suits((kh, kw), (sh, sw), (ph, pw)):  # plain products on the input itself
        return _Conv(0, 0, False, c * h * w, 0, out, oh, ow, None)
    hp, wp = h + 2 * ph, w + 2 * pw
    # One sample: batch-first; the batch-innermost layout (small images) has no wide rows.
    wide = sw == 1 and ow >= WIDE_MIN and ow >= SMALL_WIDTH and (wp - ow) * 4 <= ow
    wc = wp if wide else ow
    correlate = wide and sh == 1 and 2 * c >= out
    if correlate:
        reach = dh * (kh - 1) * wp + dw * (kw - 1)
        grad_out, grad_in = out * (reach + hp * wp), c * h * wp
        back = (out * kh * kw, c, h, wp)
    else:
        grad_out, grad_in, back = out * oh * wc, c * hp * wp, None
    return _Conv(c * (hp + wide) * wp, grad_out, correlate, grad_in, c * kh * kw, out, oh, wc,
                 back)


def _forward_live(doc: GraphDocument, nodes: list[str], sizes: dict[str, int],
                  consumers: dict[str, list[tuple[str, int]]]) -> int:
    """The most values alive at once, per sample, in a forward pass that lets go of
    each output once its last consumer has read it (what an evaluation holds)."""
    unread = {i: len([c for c, _ in consumers.get(i, ()) if c in sizes]) for i in nodes}
    alive, most = 0, 0
    for node_id in nodes:
        node = doc.nodes[node_id]
        if node.op != "input":  # the input's output is the batch, counted apart
            alive += sizes[node_id]
        most = max(most, alive)
        for source in node.inputs:
            if source in unread:
                unread[source] -= 1
                if unread[source] == 0 and doc.nodes[source].op != "input":
                    alive -= sizes[source]
    return most


# -- the limit ----------------------------------------------------------------------
def peak_resident_bytes() -> int:
    """This process's peak resident memory so far.

    Linux's VmHWM (/proc/self/status) belongs to the process's own address
    space, so it starts afresh when a program is started; getrusage's
    ru_maxrss (the fallback elsewhere) also keeps the peak of the process that
    started it, which after a fork and exec from a big parent (a test run)
    is the parent's."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def resident_bytes() -> int:
    """This process's resident memory now (0 when psutil cannot tell)."""
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except Exception:  # noqa: BLE001 - no psutil, or a platform it cannot read
        return 0


def parse_size(text: str) -> int:
    """'2G' → 2·2³⁰, '512M', '1.5G', '1000000' (bytes); ValueError for anything else."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"expected a size like 512M, 2G or 1.5G, got {text!r}")
    count = float(match[1]) * UNITS[match[2].upper()]
    if count < 1 or not math.isfinite(count):
        raise ValueError(f"a memory size must be at least one byte, got {text!r}")
    return int(count)


def available_limit() -> Limit:
    """What the machine has available now, plus what this process holds, less a margin."""
    import psutil

    memory = psutil.virtual_memory()
    margin = max(MIN_MARGIN, int(MARGIN_SHARE * memory.total))
    return Limit(max(0, int(memory.available) + resident_bytes() - margin), "available memory")


_chosen: list[Limit] = []  # the limits `limit_chosen` set, innermost last


@contextmanager
def limit_chosen(limit: Limit) -> Iterator[None]:
    """While active, memory_limit() without an option gives `limit`: a command's
    --max-memory for the window it drives in this process (bpviz snapshot)."""
    _chosen.append(limit)
    try:
        yield
    finally:
        _chosen.remove(limit)


def memory_limit(option: str | int | None = None) -> Limit:
    """--max-memory if given (or chosen by `limit_chosen`), else BPVIZ_MAX_MEMORY, else
    the available memory.

    ValueError names the setting when it is not a size.
    """
    if isinstance(option, int):
        return Limit(option, "--max-memory")
    if option:
        try:
            return Limit(parse_size(option), "--max-memory")
        except ValueError as error:
            raise ValueError(f"--max-memory: {error}") from None
    if _chosen:
        return _chosen[-1]
    value = os.environ.get(ENV_VARIABLE, "").strip()
    if value:
        try:
            return Limit(parse_size(value), ENV_VARIABLE)
        except ValueError as error:
            raise ValueError(f"{ENV_VARIABLE}: {error}") from None
    return available_limit()


def fit(footprint: Footprint, path: str, batch: int, dtype, limit: Limit,
        optimizer: str | None = None, extra: Extra | None = None,
        what: str = "the pass", evaluation: int = 0, built: int = 0) -> MemoryEstimate:
    """The estimate, when it fits in `limit`; otherwise MemoryLimitError saying so.

    built: bytes of the network's own arrays the process holds already (a command
    that checks again once its data are loaded): the estimate counts them as its
    parameters, not again as what the process holds."""
    runtime = max(0, resident_bytes() - built)
    estimate = footprint.estimate(path, batch, dtype, optimizer, extra, runtime, evaluation)
    if estimate.total <= limit.bytes:
        return estimate
    largest = footprint.largest_batch(path, dtype, limit.bytes, optimizer, extra, runtime,
                                      evaluation)
    if largest:
        advice = f"the largest batch that fits is {largest}"
    else:
        advice = ("not even a batch of 1 fits: raise the limit (--max-memory or "
                  f"{ENV_VARIABLE}) or use a smaller graph")
    if largest and np.dtype(dtype) == np.float64:
        advice += "; float32 halves most of it"
    raise MemoryLimitError(
        f"not enough memory for {what}: a batch of {batch} in {np.dtype(dtype).name} needs "
        f"about {estimate.text()}, over the limit of {limit.text()}; {advice}",
        estimate, limit, largest)
