"""A pass to step through, built from a document: plain functions a worker may run.

`refusal` says why a document cannot be stepped through (errors, no input,
more memory than the machine has: bpviz.graph.memory), before anything is
built. `build_session` builds the network from a snapshot of the document
(its text: the editor may change the document meanwhile) with the spec's
weights (the seed's, or those the workspace holds: see sources.py), draws a
batch and runs one forward and backward pass, in
training mode (batch statistics, dropout masks from the seed) unless the
spec's mode is "eval"; with the spec's `update` (an UpdateChoice), it ends
with one update step per trainable node (bpviz.workspace.update). A Verified
is what the torch check found (the check itself imports torch, so it lives
with the window: bpviz.ui.stepping.torch_check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphDocument, ShapeReport, loads_graph
from bpviz.graph.memory import Footprint, MemoryLimitError, fit, memory_limit
from bpviz.workspace.input_image import InputImage, image_feeds
from bpviz.workspace.sources import Made, WeightSource, batch_for, make_network
from bpviz.workspace.update import UpdateChoice, continue_run, describe


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
    update: UpdateChoice | None = None  # the update phase's optimizer; None: no update phase
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
    update_note: str = ""  # the update phase's optimizer, and the state it starts from


@dataclass
class Verified:
    """The torch check of a pass: ok, per node (ok, badge text, tooltip), and a summary."""

    ok: bool
    results: dict[str, tuple[bool, str, str]] = field(default_factory=dict)
    summary: str = ""


def memory_refusal(doc: GraphDocument, report: ShapeReport, batch: int,
                   dtype: str = "float64", update: str | None = None) -> str | None:
    """Why a pass of `batch` (with an update phase of the optimizer `update`) would
    not fit in memory (bpviz.graph.memory), or None."""
    footprint = Footprint(doc, report)

    def update_phase(size: int) -> dict[str, int]:
        return footprint.update_phase(size, dtype, update)

    try:
        fit(footprint, "session", batch, dtype, memory_limit(),
            extra=update_phase if update else None)
    except MemoryLimitError as error:
        return error.short()
    except ValueError as error:  # BPVIZ_MAX_MEMORY is not a size
        return str(error)
    return None


def torch_check_refusal(doc: GraphDocument, report: ShapeReport, batch: int,
                        dtype: str = "float64") -> str | None:
    """Why the torch check of a pass of `batch` would not fit in memory, or None.

    The check builds the pass again in the engine and runs torch on it; torch's
    part is counted as the engine's pass in float64 and in float32 (the oracle
    runs torch in both precisions)."""
    footprint = Footprint(doc, report)

    def torch_part(size: int) -> dict[str, int]:
        both = sum(footprint.estimate("session", size, kind, runtime=0).total
                   for kind in ("float64", "float32"))
        return {"torch": both}

    try:
        fit(footprint, "session", batch, dtype, memory_limit(), extra=torch_part,
            what="the torch check")
    except MemoryLimitError as error:
        return error.short()
    except ValueError as error:
        return str(error)
    return None


def refusal(doc: GraphDocument, report: ShapeReport, batch: int,
            dtype: str = "float64", update: str | None = None) -> str | None:
    """Why `doc` cannot be stepped through now (with an update phase of the
    optimizer `update`), or None."""
    if not doc.nodes:
        return "nothing to step through: the graph is empty"
    errors = [report.errors[node_id] for node_id in doc.nodes if node_id in report.errors]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"cannot step through a graph with errors: {errors[0]}{more}"
    if not any(node.op == "input" for node in doc.nodes.values()):
        return "cannot step through a graph without an input node"
    return memory_refusal(doc, report, batch, dtype, update)


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
    update, note = None, ""
    if spec.update is not None:
        update = spec.update.make(made.network)
        continue_run(update, spec.update, made.source)
        note = describe(spec.update, made.source)
    session = StepSession(made.network, feeds, targets, update=update)
    return Built(spec, session, gradient_span(session), time.perf_counter() - started,
                 made.label, batch, made.note, note)


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
