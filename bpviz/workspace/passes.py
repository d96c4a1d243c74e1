"""A pass to step through, built from a document: plain functions a worker may run.

`refusal` says why a document cannot be stepped through (errors, no input,
too big), before anything is built. `build_session` builds the network from
a snapshot of the document (its text: the editor may change the document
meanwhile) with the spec's weights (the seed's, or those the workspace holds:
see sources.py), draws a batch and runs one forward and backward pass, in
training mode (batch statistics, dropout masks from the seed) unless the
spec's mode is "eval". A Verified is what the torch check found (the check
itself imports torch, so it lives with the window: bpviz.ui.stepping.torch_check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphDocument, ShapeReport, loads_graph
from bpviz.graph.limits import format_bytes
from bpviz.workspace.input_image import InputImage, image_feeds
from bpviz.workspace.sources import Made, WeightSource, batch_for, make_network

STEP_LIMIT = 768 * 2**20  # parameters, gradients, every value and gradient of the batch
DTYPE = np.float64


@dataclass
class SessionSpec:
    """What a session is built from: the document's text, the batch size, the seed,
    the weights the workspace holds (None: the seed's), the dtype and the mode."""

    text: str
    batch: int = 4
    seed: int = 0
    name: str = ""
    weights: WeightSource | None = None
    dtype: str = "float64"
    mode: str = "train"  # "train" or "eval"
    image: InputImage | None = None  # a picture as sample 0 of the input (input_image.py)


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
    """The torch check of a pass: ok, per node (ok, badge text, tooltip), and a summary."""

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
    made = spec_network(spec)
    feeds, targets, batch = batch_for(made, spec.batch, spec.seed, np.dtype(spec.dtype))
    if spec.image is not None:
        feeds, batch = image_feeds(made, spec.image, feeds, batch)
    session = StepSession(made.network, feeds, targets)
    return Built(spec, session, gradient_span(session), time.perf_counter() - started,
                 made.label, batch, made.note)


def spec_network(spec: SessionSpec) -> Made:
    """The spec's network with its weights, in its mode."""
    made = make_network(loads_graph(spec.text), spec.seed, spec.weights, np.dtype(spec.dtype))
    made.network.set_training(spec.mode != "eval")
    return made


def snapshot_spec(doc: GraphDocument, batch: int, seed: int,
                  weights: WeightSource | None = None, dtype: str = "float64",
                  mode: str = "train") -> SessionSpec:
    from bpviz.graph import dumps_graph

    return SessionSpec(dumps_graph(doc), batch, seed, doc.name or "", weights, dtype, mode)
