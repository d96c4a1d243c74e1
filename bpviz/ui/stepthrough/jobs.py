"""The slow work behind stepping, as plain functions a worker thread can run (no Qt).

`refusal` says why a document cannot be stepped through (errors, no input,
too big), before anything is built. `build_session` builds the network from
a snapshot of the document (its text: the editor may change the document
meanwhile) with the spec's weights (the seed's, or those the window holds:
see sources.py), draws a batch and runs one forward and backward pass.
`verify` rebuilds the same network (same seed and weights) and compares it
with PyTorch on the same batch; torch is imported there, on the
worker thread, never when the window starts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphDocument, ShapeReport, loads_graph
from bpviz.graph.limits import format_bytes
from bpviz.ui.stepthrough.sources import WeightSource, batch_for, make_network

STEP_LIMIT = 768 * 2**20  # parameters, gradients, every value and gradient of the batch
DTYPE = np.float64


@dataclass
class SessionSpec:
    """What a session is built from: the document's text, the batch size, the seed
    and the weights the window holds (None: the seed's)."""

    text: str
    batch: int = 4
    seed: int = 0
    name: str = ""
    weights: WeightSource | None = None


@dataclass
class Built:
    spec: SessionSpec
    session: StepSession
    span: tuple[float, float] | None  # smallest and largest wire gradient norm of the pass
    seconds: float = 0.0
    weights: str = ""  # the weights the pass runs with: "trained weights", …
    batch: str = ""  # what the batch is: "random batch", "moons validation samples …"
    note: str = ""  # why the window's weights or data were not used


@dataclass
class Verified:
    ok: bool
    results: dict[str, tuple[bool, str, str]] = field(default_factory=dict)
    summary: str = ""


def stepping_bytes(report: ShapeReport, batch: int) -> int:
    """Roughly what a session holds: parameters and their gradients, and for each
    sample every node's output, its gradient and the inputs kept by the steps."""
    itemsize = np.dtype(DTYPE).itemsize
    params = sum(report.param_counts.values()) + sum(report.buffer_counts.values())
    values = sum(math.prod(shape) for shape in report.shapes.values() if shape is not None)
    return itemsize * (2 * params + 3 * batch * values)


def refusal(doc: GraphDocument, report: ShapeReport, batch: int) -> str | None:
    """Why `doc` cannot be stepped through now, or None."""
    if not doc.nodes:
        return "nothing to step through: the graph is empty"
    errors = [report.errors[node_id] for node_id in doc.nodes if node_id in report.errors]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"cannot step through a graph with errors: {errors[0]}{more}"
    if not any(node.op == "input" for node in doc.nodes.values()):
        return "cannot step through a graph without an input node"
    need = stepping_bytes(report, batch)
    if need > STEP_LIMIT:
        return (f"too big to step through: a batch of {batch} needs about "
                f"{format_bytes(need)} (parameters, every value and every gradient; the "
                f"limit is {format_bytes(STEP_LIMIT)}). Try a smaller graph or batch.")
    return None


def gradient_span(session: StepSession) -> tuple[float, float] | None:
    """The smallest and largest non-zero wire gradient norm of the whole backward pass."""
    position = session.position
    session.seek(len(session.steps) - 1)
    norms = [n for n in session.wire_gradient_norms().values() if n > 0 and math.isfinite(n)]
    session.seek(position)
    return (min(norms), max(norms)) if norms else None


def build_session(spec: SessionSpec) -> Built:
    import time

    started = time.perf_counter()
    made = make_network(loads_graph(spec.text), spec.seed, spec.weights, DTYPE)
    feeds, targets, batch = batch_for(made, spec.batch, spec.seed, DTYPE)
    session = StepSession(made.network, feeds, targets)
    return Built(spec, session, gradient_span(session), time.perf_counter() - started,
                 made.label, batch, made.note)


def verify(spec: SessionSpec, feeds: dict[str, np.ndarray],
           targets: dict[str, np.ndarray]) -> Verified:
    """Compare the engine with torch on the session's network and batch."""
    from bpviz.oracle.compare import compare_network

    network = make_network(loads_graph(spec.text), spec.seed, spec.weights, DTYPE).network
    comparison = compare_network(network, feeds, targets)
    results = {node.id: badge(node) for node in comparison.nodes}
    bad = [node.id for node in comparison.failed]
    if comparison.ok:
        worst = max((largest_error(node) for node in comparison.nodes), default=0.0)
        summary = (f"torch agrees on every node (largest error {worst:.2g}, "
                   f"tolerance {comparison.tolerance:g})")
    elif bad:
        summary = f"torch disagrees on {len(bad)} node(s): {', '.join(bad[:6])}"
    else:
        summary = (f"torch disagrees on the loss: {comparison.loss_engine:.6g} vs "
                   f"{comparison.loss_torch:.6g}")
    return Verified(comparison.ok, results, summary)


def largest_error(node) -> float:
    errors = [node.forward_err, node.grad_err, node.param_grad_err, node.buffer_err]
    return max((e for e in errors if e is not None), default=0.0)


def badge(node) -> tuple[bool, str, str]:
    """(ok, text on the badge, tooltip) for one NodeComparison."""
    worst = largest_error(node)
    text = f"{worst:.1e}".replace("e-0", "e-").replace("e+0", "e")
    lines = [f"torch check of '{node.id}' ({node.op}): " + ("agrees" if node.ok else
                                                            "DISAGREES"),
             f"output error {node.forward_err:.3g} (scale {node.forward_scale:.3g})"]
    if node.grad_err is not None:
        lines.append(f"∂L/∂out error {node.grad_err:.3g} (scale {node.grad_scale:.3g})")
    if node.param_grad_err is not None:
        lines.append(f"∂L/∂θ error {node.param_grad_err:.3g}")
    if node.failures:
        lines.append("failed: " + ", ".join(node.failures))
    return node.ok, text, "\n".join(lines)


def snapshot_spec(doc: GraphDocument, batch: int, seed: int,
                  weights: WeightSource | None = None) -> SessionSpec:
    from bpviz.graph import dumps_graph

    return SessionSpec(dumps_graph(doc), batch, seed, doc.name or "", weights)
