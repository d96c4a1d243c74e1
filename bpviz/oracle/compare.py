"""Check the engine against torch autograd, node by node.

`compare_network` runs one forward and backward pass of the engine, builds
the same graph in torch (bpviz.oracle.torch_graph) on the network's own
parameter arrays (they are not changed by a pass) and copies of its buffers
taken before the engine ran, and compares for every node:

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
ROUNDING_MULTIPLE times the rounding error the computation of that tensor
is expected to carry. The allowance matters only for tensors that are zero
up to rounding (a conv bias followed by batchnorm has ∂L/∂b = 0 in exact
arithmetic, ∂L/∂x of a batchnorm whose outputs are summed too), whose every
entry is noise; everywhere else rounding is a millionth of max |r| or less,
so a 0.1 % error is caught however small the tensor's entries are (the
vanishing gradients of a deep sigmoid net, 1e-14, included). `noise` is:

* for outputs, ∂L/∂out and buffers, measured: torch runs the graph a second
  time in the other precision (float64 for a float32 check, float32 for a
  float64 one), and noise = max |r − r_other| · (ε of the checked dtype / ε
  of float32). These tensors are as large as the activations; when the
  second run is not finite (data beyond float32's range) the rule falls back
  to scale = max(1, max |r|);
* for parameter gradients, bounded from what was summed, plus measured.
  ∂L/∂θ is a sum over the batch and every position of products of inputs
  and ∂L/∂out; the rounding error of a computed sum Σ t is at most a few
  ε · Σ |t| whatever the order the terms were added in (Higham, Accuracy and
  Stability of Numerical Algorithms, §3.1: |fl(xᵀy) − xᵀy| ≤ γ_n |x|ᵀ|y|,
  with errors that grow like √n·ε rather than n·ε in practice): noise
  starts at ε · max Σ |t|, with Σ |t| the op's parameter gradient at
  |inputs| and |∂L/∂out| (bpviz.oracle.rounding.magnitude: Σ |x|·|∂L/∂out|
  for a weight, Σ |∂L/∂out| for a bias), ε of the checked dtype. A measured
  difference between two runs is a single draw of the rounding: on a tensor
  of three entries it can come out tiny by chance, or by the BLAS kernel's
  summation order, while the engine's own rounding is ordinary; the bound
  depends on neither. What the bound leaves out, the errors the inputs and
  ∂L/∂out carry in (deep in a float32 network far above ε: the last stage
  of a ResNet-50 at 224×224, for torch as for the engine) and an op's own
  cancellation (batchnorm over data far from zero), is measured as for
  outputs: torch makes the node's ∂L/∂θ again in the other precision from
  the other precision's inputs and ∂L/∂out, and noise grows by
  max |r − r_other| · (ε of the checked dtype / ε of float32)
  (bpviz.oracle.rounding). Both are computed only for a parameter gradient
  that does not already agree within tol · max |r| (rare), so they cost
  nothing on a healthy network.

tol defaults to 1e-9 for float64 and 1e-4 for float32; the dtype is that of
the feeds (all feeds must share it) and torch computes in it too. A NaN or
infinity in either tensor, or a shape mismatch, never agrees.

Kinks. The engine's dropout draws its own mask; torch reuses it (`op.mask`),
so the comparison is exact. Likewise at a kink: where a ReLU or leaky ReLU
input, or the two largest pixels of a max-pool window, lie within tol ·
max |x| of the kink and the engine and torch rounded them to opposite sides,
torch takes the engine's side (bpviz.oracle.rules.kinks) and `aligned`
counts those entries per node. Farther from the kink each keeps its own, so
an engine on the wrong side there is still caught.

Memory. The engine runs forward first (torch reads its masks) and lets go
of its scratch arrays; torch in the other precision runs whole, casting the
weights node by node, and keeps only outputs and ∂L/∂out (in float32); then
torch's forward in the checked precision, on the network's own weights,
after which every output is judged; then torch's backward, which hands over
each ∂L/∂out and each parameter gradient as soon as it is complete
(bpviz.oracle.backward_judge): the engine's backward is run just as far as
that node, keeping nothing it has passed (outputs, ∂L/∂out, what each op kept
for backward), the two are compared and dropped, and so are the other
precision's results once nothing still needs them. A parameter of more than
SPLIT_ABOVE entries of a dense or conv2d layer comes from torch a block of
rows at a time (torch_run.RowBlocks), so that its gradient is whole only on
the engine's side. At no time is there a second copy of the weights, nor more
than a node's gradients.

compare_network leaves the network as it found it: every op keeps its
parameter and buffer arrays (the same objects), with the values they had
before the check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.executor import Executor, Network
from bpviz.engine.scratch import clear_scratch
from bpviz.oracle.agreement import Pair, agrees, measure
from bpviz.oracle.backward_judge import BackwardJudge
from bpviz.oracle.rules import kinks
from bpviz.oracle.rules.kinks import TOLERANCES
from bpviz.oracle.torch_graph import OracleError
from bpviz.oracle.torch_run import SPLIT_ABOVE, TorchPass, return_freed_memory

__all__ = ["TOLERANCES", "Comparison", "NodeComparison", "compare_network",
           "default_tolerance", "torch_pass"]

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
    # node id → entries compared on the engine's side of a kink (module docstring)
    aligned: dict[str, int] = field(default_factory=dict)

    def node(self, node_id: str) -> NodeComparison:
        return next(n for n in self.nodes if n.id == node_id)

    @property
    def failed(self) -> list[NodeComparison]:
        return [n for n in self.nodes if not n.ok]


def default_tolerance(dtype: np.dtype | str) -> float:
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise OracleError(f"the oracle compares float32 or float64 data, not {name}")
    return TOLERANCES[name]


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
             buffers: Snapshot) -> None:
    """Put back the very arrays each op held (an optimiser may hold them too), the
    buffers with their snapshot values (batchnorm replaces or updates its statistics)."""
    for node in network.order:
        params, stored = originals[node.id]
        node.op.params.update(params)
        for key, array in stored.items():
            np.copyto(array, buffers[node.id][key])
            node.op.buffers[key] = array


def _largest(pairs: dict[str, Pair]) -> tuple[float | None, float | None]:
    """(err, scale) of the tensor with the largest error (NaN counts as largest)."""
    if not pairs:
        return None, None
    return max(pairs.values(), key=lambda pair: np.inf if np.isnan(pair[0]) else pair[0])


def compare_network(network: Network, feeds: dict[str, np.ndarray],
                    targets: dict[str, np.ndarray] | None,
                    tolerance: float | None = None) -> Comparison:
    """Run the engine and torch on the same data; see the module docstring."""
    dtype = _feed_dtype(feeds)
    tol = default_tolerance(dtype) if tolerance is None else float(tolerance)
    buffers = _snapshot(network, "buffers")
    originals = {node.id: (dict(node.op.params), dict(node.op.buffers))
                 for node in network.order}
    other_dtype = np.dtype(np.float64 if dtype == np.float32 else np.float32)
    noise_factor = float(np.finfo(dtype).eps / np.finfo(np.float32).eps)

    def judged(ours, reference, second) -> Pair:
        return measure(ours, reference, second, tol, noise_factor)

    try:
        engine = Executor(network, keep=set())  # let go of each node once compared
        feeds = {k: np.array(v, copy=True) for k, v in feeds.items()}
        targets = {k: np.array(v, copy=True) for k, v in (targets or {}).items()}
        for _ in engine.forward(feeds, targets):
            pass
        engine_buffers = _snapshot(network, "buffers")
        clear_scratch()  # the engine's backward makes its working arrays again
        return_freed_memory()
        with kinks.aligning():
            other = TorchPass(network, feeds, targets, buffers, other_dtype, param_grads=False,
                              keep=np.dtype(np.float32))
            other.backward()
        return_freed_memory()
        with kinks.aligning() as counts:
            theirs = TorchPass(network, feeds, targets, buffers, dtype,
                               split_above=SPLIT_ABOVE)
        forwards = {i: judged(engine.values[i], theirs.values[i], other.values[i])
                    for i in theirs.values}
        judge = BackwardJudge(network, engine, theirs, other, buffers, tol, dtype, judged)
        theirs.backward(judge, judge.out_grad)  # the engine's backward runs alongside
        judge.finish()
    finally:
        _restore(network, originals, buffers)
    after, other_after = theirs.buffers_after(), other.buffers_after()
    nodes = []
    for node in network.order:
        i, failures = node.id, []
        forward = forwards[i]
        if not agrees(*forward, tol):
            failures.append("forward")
        grad: tuple[float | None, float] = judge.grads.get(i, (None, 1.0))
        if grad[0] is not None and not agrees(*grad, tol):
            failures.append("grad")
        params = judge.pairs[i]
        failures += [f"param {k}" for k, pair in params.items() if not agrees(*pair, tol)]
        buffer_pairs = {k: judged(engine_buffers[i][k], reference, other_after[i].get(k))
                        for k, reference in after[i].items()}
        failures += [f"buffer {k}" for k, v in buffer_pairs.items() if not agrees(*v, tol)]
        p_err, p_scale = _largest(params)
        b_err, b_scale = _largest(buffer_pairs)
        nodes.append(NodeComparison(i, node.op.op_name, *forward[:1], grad[0], p_err,
                                    forward[1], grad[1], not failures, p_scale, b_err,
                                    b_scale, failures))
    loss = judged(engine.loss, theirs.loss, other.loss)
    ok = all(n.ok for n in nodes) and agrees(*loss, tol)
    ids = {id(node.op): node.id for node in network.order}
    return Comparison(nodes, ok, float(engine.loss), theirs.loss, np.dtype(dtype).name, tol,
                      {ids[k]: n for k, n in counts.items() if k in ids})


def torch_pass(network: Network, feeds: dict[str, np.ndarray],
               targets: dict[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """torch's tensors of one pass, keyed as the npz export: `<node>/out`,
    `<node>/grad_out` and `<node>/grad/<p>` (from the network's current
    parameters and buffers, in the feeds' dtype). The network is left as it was."""
    theirs = TorchPass(network, feeds, targets, _snapshot(network, "buffers"),
                       _feed_dtype(feeds))
    theirs.backward()
    tensors = {f"{i}/out": value for i, value in theirs.values.items()}
    tensors |= {f"{i}/grad_out": g for i, g in theirs.grads.items() if g is not None}
    tensors |= {f"{i}/grad/{k}": g for i, store in theirs.param_grads.items()
                for k, g in store.items() if g is not None}
    return tensors
