"""Check the engine against torch autograd, node by node.

`compare_network` runs one forward and backward pass of the engine, builds
the same graph in torch (bpviz.oracle.torch_graph) from a snapshot of the
parameters and buffers taken before the engine ran, and compares for every
node:

* forward_err: its output;
* grad_err: ∂L/∂(its output), input nodes included (the torch inputs require
  grad). Where torch finds no path from the node to L the reference is zero.
  None only when torch cannot differentiate the output at all;
* param_grad_err: ∂L/∂θ for each of its parameters, None for a node without
  parameters or with `op.trainable` False (frozen parameters have
  requires_grad False in torch too);
* buffer_err: its buffers after the pass (batchnorm running statistics,
  updated in training mode), None for a node without buffers.

L is defined as in the executor: the sum of every loss node's output, or the
sum of every element of every sink when there is no loss node. The engine's
L and torch's L are compared too.

For parameters and buffers the reported error (and its scale) is the largest
over the node's tensors, but each tensor is judged against its own scale;
`failures` names what disagreed: "forward", "grad", "param <name>",
"buffer <name>".

Tolerance. Every tensor is judged on its own: engine tensor e agrees with
torch's reference r when

    max |e − r|  <=  tol · scale,   scale = max |r| + (ROUNDING_MULTIPLE / tol) · noise,

that is, the error may be tol relative to the tensor's largest entry, plus
ROUNDING_MULTIPLE times the rounding error torch itself makes on that tensor.
`noise` is measured, not guessed: torch runs the graph a second time in the
other precision (float64 for a float32 check, float32 for a float64 one), and
noise = max |r − r_other| · (ε of the checked dtype / ε of float32). The
allowance matters only for tensors that are zero up to rounding (a conv
bias followed by batchnorm has ∂L/∂b = 0 in exact arithmetic; in float32
torch computes some 1e-8 there), whose every entry is noise; everywhere else
torch's rounding is a millionth of max |r| or less, so a 0.1 % error is caught
however small the tensor's entries are (the vanishing gradients of a deep
sigmoid net, 1e-14, included). When the second run is not finite (data
beyond float32's range) the rule falls back to scale = max(1, max |r|).
tol defaults to 1e-9 for float64 and 1e-4 for float32; the dtype is that of
the feeds (all feeds must share it) and torch computes in it too. A NaN or
infinity in either tensor, or a shape mismatch, never agrees.

The engine's dropout draws its own mask; torch reuses it (`op.mask`), so the
comparison is exact. compare_network leaves the network as it found it:
every op keeps its parameter and buffer arrays (the same objects), with the
values they had before the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from bpviz.engine.executor import Executor, Network
from bpviz.oracle.torch_graph import OracleError, run_graph, total_loss

TOLERANCES = {"float32": 1e-4, "float64": 1e-9}
ROUNDING_MULTIPLE = 10.0  # how many times torch's own rounding error the engine may make

Snapshot = dict[str, dict[str, np.ndarray]]


@dataclass
class NodeComparison:
    id: str
    op: str
    forward_err: float
    grad_err: float | None
    param_grad_err: float | None
    forward_scale: float
    grad_scale: float
    ok: bool
    param_grad_scale: float | None = None
    buffer_err: float | None = None
    buffer_scale: float | None = None
    failures: list[str] = field(default_factory=list)  # e.g. "grad", "param weight"


@dataclass
class Comparison:
    nodes: list[NodeComparison]
    ok: bool
    loss_engine: float
    loss_torch: float
    dtype: str
    tolerance: float = 0.0
    kinks: dict[str, int] = field(default_factory=dict)  # see `kink_flips`

    def node(self, node_id: str) -> NodeComparison:
        return next(n for n in self.nodes if n.id == node_id)

    @property
    def failed(self) -> list[NodeComparison]:
        return [n for n in self.nodes if not n.ok]


@dataclass
class _Pass:
    """One side's results: values, ∂L/∂out, parameter gradients, buffers, L."""

    values: dict[str, np.ndarray]
    grads: dict[str, np.ndarray | None]
    param_grads: dict[str, dict[str, np.ndarray | None]]
    buffers: Snapshot
    loss: float


def default_tolerance(dtype: np.dtype | str) -> float:
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise OracleError(f"the oracle compares float32 or float64 data, not {name}")
    return TOLERANCES[name]


def measure(ours, reference, other=None, tol: float = 0.0,
            noise_factor: float = 1.0) -> tuple[float, float]:
    """(max |ours − reference|, scale); the error is NaN or inf when they cannot agree.

    `other` is torch's result in the other precision; with it (and tol > 0) the
    scale includes the allowance for torch's rounding noise (module docstring),
    |reference − other| times `noise_factor`.
    """
    ours, reference = np.asarray(ours), np.asarray(reference)
    finite_ref = reference[np.isfinite(reference)]
    largest = float(np.max(np.abs(finite_ref), initial=0.0))
    scale = _scale(largest, reference, other, tol, noise_factor)
    if ours.shape != reference.shape:
        return float("inf"), scale
    if not (np.all(np.isfinite(ours)) and np.all(np.isfinite(reference))):
        return float("nan"), scale
    diff = np.abs(ours.astype(np.float64) - reference.astype(np.float64))
    return float(np.max(diff, initial=0.0)), scale


def _scale(largest: float, reference: np.ndarray, other, tol: float,
           noise_factor: float) -> float:
    if other is None or tol <= 0 or np.shape(other) != reference.shape:
        return max(1.0, largest)
    other = np.asarray(other, dtype=np.float64)
    with np.errstate(all="ignore"):
        noise = float(np.max(np.abs(reference.astype(np.float64) - other), initial=0.0))
    if not np.isfinite(noise):  # the other precision overflowed: no noise estimate
        return max(1.0, largest)
    return largest + ROUNDING_MULTIPLE * noise * noise_factor / tol


def agrees(err: float, scale: float, tol: float) -> bool:
    return bool(err <= tol * scale)  # False for NaN


def _feed_dtype(feeds: dict[str, np.ndarray]) -> np.dtype:
    dtypes = {np.asarray(x).dtype for x in feeds.values()}
    if len(dtypes) != 1:
        names = ", ".join(sorted(d.name for d in dtypes)) or "no feeds"
        raise OracleError(f"all feeds must share one dtype, got {names}")
    (dtype,) = dtypes
    default_tolerance(dtype)
    return dtype


def _snapshot(network: Network, store: str) -> Snapshot:
    return {node.id: {k: np.array(v, copy=True) for k, v in getattr(node.op, store).items()}
            for node in network.order}


def _restore(network: Network, originals: dict[str, tuple[dict, dict]],
             params: Snapshot, buffers: Snapshot) -> None:
    """Put back the very arrays each op held (an optimiser may hold them too), with
    their snapshot values (batchnorm replaces or updates its running statistics)."""
    for node in network.order:
        for store, saved, arrays in ((node.op.params, params[node.id], originals[node.id][0]),
                                     (node.op.buffers, buffers[node.id], originals[node.id][1])):
            for key, array in arrays.items():
                np.copyto(array, saved[key])
                store[key] = array


def _run_engine(network: Network, feeds, targets) -> _Pass:
    executor = Executor(network)
    feeds = {k: np.array(v, copy=True) for k, v in feeds.items()}
    targets = {k: np.array(v, copy=True) for k, v in (targets or {}).items()}
    values = {step.node: np.array(step.output, copy=True)
              for step in executor.forward(feeds, targets)}
    grads: dict[str, np.ndarray | None] = {}
    param_grads: dict[str, dict[str, np.ndarray | None]] = {}
    for step in executor.backward():
        grads[step.node] = np.array(step.grad_output, copy=True)
        param_grads[step.node] = {k: np.array(v, copy=True) for k, v in step.grad_params.items()}
    return _Pass(values, grads, param_grads, _snapshot(network, "buffers"), float(executor.loss))


def _torch_target(value: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return torch.tensor(value, dtype=dtype)
    return torch.tensor(value, dtype=torch.int64)


def _run_torch(network: Network, feeds, targets, params: Snapshot, buffers: Snapshot,
               dtype: np.dtype) -> _Pass:
    t_dtype = torch.float64 if dtype == np.float64 else torch.float32
    leaves = {k: torch.tensor(np.asarray(v), dtype=t_dtype, requires_grad=True)
              for k, v in feeds.items()}
    t_params = {node.id: {k: torch.tensor(v, dtype=t_dtype, requires_grad=node.op.trainable)
                          for k, v in params[node.id].items()} for node in network.order}
    t_buffers = {i: {k: torch.tensor(v, dtype=t_dtype) for k, v in store.items()}
                 for i, store in buffers.items()}
    t_targets = {k: _torch_target(v, t_dtype) for k, v in (targets or {}).items()}
    outputs = run_graph(network, leaves, t_params, t_buffers, t_targets)
    loss = total_loss(network, outputs)
    wrt_out = [i for i in outputs if outputs[i].requires_grad]
    wrt_par = [(i, k) for i, store in t_params.items() for k, t in store.items() if t.requires_grad]
    tensors = [outputs[i] for i in wrt_out] + [t_params[i][k] for i, k in wrt_par]
    found = torch.autograd.grad(loss, tensors, allow_unused=True) if loss.requires_grad else ()
    found = [None if g is None else g.detach().numpy() for g in found]
    grads: dict[str, np.ndarray | None] = {i: None for i in outputs}
    for i, g in zip(wrt_out, found):
        grads[i] = np.zeros(tuple(outputs[i].shape)) if g is None else g
    param_grads: dict[str, dict[str, np.ndarray | None]] = {i: {} for i in outputs}
    for (i, k), g in zip(wrt_par, found[len(wrt_out):]):
        param_grads[i][k] = np.zeros(tuple(t_params[i][k].shape)) if g is None else g
    values = {i: t.detach().numpy() for i, t in outputs.items()}
    after = {i: {k: t.numpy() for k, t in store.items()} for i, store in t_buffers.items()}
    return _Pass(values, grads, param_grads, after, float(loss.detach()))


def _largest(pairs: dict[str, tuple[float, float]]) -> tuple[float | None, float | None]:
    """(err, scale) of the tensor with the largest error (NaN counts as largest)."""
    if not pairs:
        return None, None
    return max(pairs.values(), key=lambda pair: np.inf if np.isnan(pair[0]) else pair[0])


class _Judge:
    """Measures the engine's tensors against torch's, with torch's rounding noise
    taken from its run in the other precision."""

    def __init__(self, theirs: _Pass, other: _Pass, tol: float, dtype: np.dtype) -> None:
        self.theirs, self.other, self.tol = theirs, other, tol
        eps = np.finfo(dtype).eps
        self.noise_factor = float(eps / np.finfo(np.float32).eps)

    def __call__(self, ours, reference, other) -> tuple[float, float]:
        return measure(ours, reference, other, self.tol, self.noise_factor)

    def agrees(self, pair: tuple[float, float]) -> bool:
        return agrees(*pair, self.tol)


def _compare_node(node, ours: _Pass, judge: _Judge) -> NodeComparison:
    theirs, other, i = judge.theirs, judge.other, node.id
    failures: list[str] = []
    f_err, f_scale = judge(ours.values[i], theirs.values[i], other.values[i])
    if not judge.agrees((f_err, f_scale)):
        failures.append("forward")
    g_err, g_scale = None, 1.0
    if theirs.grads[i] is not None:
        g_err, g_scale = judge(ours.grads[i], theirs.grads[i], other.grads[i])
        if not judge.agrees((g_err, g_scale)):
            failures.append("grad")
    param_pairs: dict[str, tuple[float, float]] = {}
    for name, reference in theirs.param_grads[i].items():
        engine = ours.param_grads[i].get(name)
        param_pairs[name] = ((float("inf"), 1.0) if engine is None
                             else judge(engine, reference, other.param_grads[i].get(name)))
        if not judge.agrees(param_pairs[name]):
            failures.append(f"param {name}")
    buffer_pairs = {name: judge(ours.buffers[i][name], reference, other.buffers[i].get(name))
                    for name, reference in theirs.buffers[i].items()}
    failures += [f"buffer {k}" for k, v in buffer_pairs.items() if not judge.agrees(v)]
    p_err, p_scale = _largest(param_pairs)
    b_err, b_scale = _largest(buffer_pairs)
    return NodeComparison(i, node.op.op_name, f_err, g_err, p_err, f_scale, g_scale,
                          not failures, p_scale, b_err, b_scale, failures)


def compare_network(network: Network, feeds: dict[str, np.ndarray],
                    targets: dict[str, np.ndarray] | None,
                    tolerance: float | None = None) -> Comparison:
    """Run the engine and torch on the same data; see the module docstring."""
    dtype = _feed_dtype(feeds)
    tol = default_tolerance(dtype) if tolerance is None else float(tolerance)
    params, buffers = _snapshot(network, "params"), _snapshot(network, "buffers")
    originals = {node.id: (dict(node.op.params), dict(node.op.buffers))
                 for node in network.order}
    try:
        ours = _run_engine(network, feeds, targets)
        theirs = _run_torch(network, feeds, targets, params, buffers, dtype)
        other_dtype = np.dtype(np.float64 if dtype == np.float32 else np.float32)
        other = _run_torch(network, feeds, targets, params, buffers, other_dtype)
    finally:
        _restore(network, originals, params, buffers)
    judge = _Judge(theirs, other, tol, dtype)
    nodes = [_compare_node(node, ours, judge) for node in network.order]
    loss_err, loss_scale = judge(ours.loss, theirs.loss, other.loss)
    ok = all(n.ok for n in nodes) and judge.agrees((loss_err, loss_scale))
    return Comparison(nodes, ok, ours.loss, theirs.loss, np.dtype(dtype).name, tol,
                      kink_flips(network, ours, theirs))


def torch_pass(network: Network, feeds: dict[str, np.ndarray],
               targets: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """torch's tensors of one pass, keyed as the npz export: `<node>/out`,
    `<node>/grad_out` and `<node>/grad/<p>` (from the network's current
    parameters and buffers, in the feeds' dtype). The network is left as it was."""
    dtype = _feed_dtype(feeds)
    theirs = _run_torch(network, feeds, targets, _snapshot(network, "params"),
                        _snapshot(network, "buffers"), dtype)
    tensors = {f"{i}/out": value for i, value in theirs.values.items()}
    tensors |= {f"{i}/grad_out": g for i, g in theirs.grads.items() if g is not None}
    tensors |= {f"{i}/grad/{k}": g for i, store in theirs.param_grads.items()
                for k, g in store.items() if g is not None}
    return tensors


def kink_flips(network: Network, ours: _Pass, theirs: _Pass) -> dict[str, int]:
    """Per ReLU-like node, the inputs the engine and torch put on opposite sides of 0.

    NOTE: an input within rounding of the kink may land on either side; then
    the two sides' gradients differ there by the whole upstream gradient, and
    everything before the node inherits the difference. It is rare in float32
    and practically never happens in float64: a mismatch that follows such a
    flip is rounding, not a wrong gradient (check again in float64).
    """
    flips = {}
    for node in network.order:
        if node.op.relu_like and node.inputs:
            source = node.inputs[0]
            count = int(np.count_nonzero((ours.values[source] > 0)
                                         != (theirs.values[source] > 0)))
            if count:
                flips[node.id] = count
    return flips
