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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from bpviz.engine.formulas import describe_step
from bpviz.engine.stepping import StepSession
from bpviz.graph import GraphDocument, ShapeReport, loads_graph
from bpviz.graph.limits import format_bytes
from bpviz.graph.memory import Extra, Footprint, MemoryLimitError, fit, memory_limit
from bpviz.workspace.input_image import InputImage, image_feeds
from bpviz.workspace.sources import Made, WeightSource, batch_for, make_network
from bpviz.workspace.tensor_summary import DRAWING_BYTES, Summaries
from bpviz.workspace.update import UpdateChoice, continue_run, describe

Progress = Callable[[int, int], None]
"""(steps done, steps in all) → None; raises to stop the build (a Cancel)."""


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
    left_out: str = ""  # what was given up to fit in memory (plan.note), or ""


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
    summaries: Summaries = field(default_factory=Summaries)  # its big tensors, drawn small


@dataclass
class Verified:
    """The torch check of a pass: ok, per node (ok, badge text, tooltip), and a summary."""

    ok: bool
    results: dict[str, tuple[bool, str, str]] = field(default_factory=dict)
    summary: str = ""


def window_parts(footprint: Footprint, dtype: str, update: UpdateChoice | None = None,
                 continuing: bool = False) -> Extra:
    """What the window holds beyond the StepSession, as a function of the batch.

    The update phase (bpviz.engine.updating): θ after, Δθ and the optimizer's
    state after the step (SGD with momentum: v; Adam: m and v), the state before
    when the step continues a run, and while it is made the twin network's
    cached activations and its second forward pass.
    The Receptive field panel: an effective field is a backward pass seeded at one
    unit (∂/∂out of every node and the parameter gradients, let go after).
    Drawing: the panels' pictures of maps and bars (tensor_summary: never more
    than MAX_DRAWN_SIDE² pixels a map) and their summaries, DRAWING_BYTES.
    """
    s = np.dtype(dtype).itemsize

    def parts(batch: int) -> dict[str, int]:
        made = {"receptive field's backward pass":
                (footprint.trainable + batch * footprint.gradients) * s,
                "drawing (pictures of maps, histograms)": DRAWING_BYTES}
        if update is not None:
            state = update.optimizer if update.optimizer != "sgd" or update.momentum else None
            made.update(footprint.update_phase(batch, dtype, state, continuing))
        return made

    return parts


def memory_refusal(doc: GraphDocument, report: ShapeReport, batch: int,
                   dtype: str = "float64", update: UpdateChoice | None = None,
                   continuing: bool = False) -> str | None:
    """Why a pass of `batch` would not fit in memory (bpviz.graph.memory), or None;
    the window's own parts (window_parts) count too."""
    footprint = Footprint(doc, report)
    try:
        fit(footprint, "session", batch, dtype, memory_limit(),
            extra=window_parts(footprint, dtype, update, continuing))
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
            dtype: str = "float64", update: UpdateChoice | None = None,
            continuing: bool = False) -> str | None:
    """Why `doc` cannot be stepped through now, or None."""
    if not doc.nodes:
        return "nothing to step through: the graph is empty"
    errors = [report.errors[node_id] for node_id in doc.nodes if node_id in report.errors]
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"cannot step through a graph with errors: {errors[0]}{more}"
    if not any(node.op == "input" for node in doc.nodes.values()):
        return "cannot step through a graph without an input node"
    return memory_refusal(doc, report, batch, dtype, update, continuing)


class Plan(NamedTuple):
    """What the window's next pass will be: why there is none (or None), the
    update phase it shows, its dtype, and a note on what was given up to fit."""

    why: str | None
    update: UpdateChoice | None
    dtype: str
    note: str = ""


def plan(doc: GraphDocument, report: ShapeReport, batch: int, dtype: str,
         update: UpdateChoice | None, continuing: bool) -> Plan:
    """The pass the window builds. When it would not fit in memory, the window gives
    up first the update phase, then float64 (the same pass in float32 takes half),
    and says so in the note; the refusal, when nothing fits, is the pass's own."""
    why = refusal(doc, report, batch, dtype, update, continuing)
    if why is None or not why.startswith("not enough memory"):
        return Plan(why, update, dtype)
    footprint = Footprint(doc, report)

    def needs(kind: str, phase: UpdateChoice | None) -> str:
        extra = window_parts(footprint, kind, phase, continuing)
        return format_bytes(footprint.estimate("session", batch, kind, extra=extra).total)

    tries = [(dtype, None)] if update is not None else []
    if dtype == "float64":
        tries += [("float32", update)] + ([("float32", None)] if update is not None else [])
    for kind, phase in tries:
        if refusal(doc, report, batch, kind, phase, continuing) is not None:
            continue
        notes = []
        if phase is None and update is not None:
            notes.append(f"the update step is left out: it would take the pass to "
                         f"{needs(kind, update)}, over the memory limit")
        if kind != dtype:
            notes.append(f"the pass is in {kind}: in {dtype} it would take "
                         f"{needs(dtype, phase)}, over the memory limit")
        return Plan(None, phase, kind, "; ".join(notes))
    # the pass alone in the dtype asked for: its largest batch is the one to name
    return Plan(refusal(doc, report, batch, dtype) if update is not None else why,
                update, dtype)


def gradient_span(session: StepSession) -> tuple[float, float] | None:
    """The smallest and largest non-zero wire gradient norm of the whole backward pass."""
    position = session.position
    session.seek(len(session.steps) - 1)
    norms = [n for n in session.wire_gradient_norms().values() if n > 0 and math.isfinite(n)]
    session.seek(position)
    return (min(norms), max(norms)) if norms else None


def build_session(spec: SessionSpec, progress: Progress | None = None) -> Built:
    """The spec's pass; `progress(done, total)` hears of every node made (its
    weights drawn), then of its forward and its backward step as they are computed
    (bpviz.engine.stepping): 3 N in all; it may raise to stop."""
    import time

    started = time.perf_counter()
    stages = None
    if progress is not None:  # N nodes made, then N forward and N backward steps
        def stages(done: int, total: int, before: int = 0, share: int = 1) -> None:
            nodes = total // share
            progress(before * nodes + done, 3 * nodes)

    made = spec_network(spec, stages)
    feeds, targets, batch = batch_for(made, spec.batch, spec.seed, np.dtype(spec.dtype))
    if spec.image is not None:
        feeds, batch = image_feeds(made, spec.image, feeds, batch)
    update, note = None, ""
    if spec.update is not None:
        update = spec.update.make(made.network)
        continue_run(update, spec.update, made.source)
        note = describe(spec.update, made.source)
    session = StepSession(made.network, feeds, targets, update=update,
                          progress=(lambda done, total: stages(done, total, 1, 2))
                          if stages else None)
    for step in session.steps[session.update_start:]:
        describe_step(step, session.network)  # kept by the step: it reads all of θ
    summaries = Summaries()
    nodes = len(session.network.order)
    summaries.prepare(session, stop=(lambda: stages(nodes, nodes, 2)) if stages else None)
    return Built(spec, session, gradient_span(session), time.perf_counter() - started,
                 made.label, batch, " · ".join(filter(None, [made.note, spec.left_out])),
                 note, summaries)


def spec_network(spec: SessionSpec, progress: Progress | None = None) -> Made:
    """The spec's network with its weights, in its mode."""
    made = make_network(loads_graph(spec.text), spec.seed, spec.weights, np.dtype(spec.dtype),
                        progress)
    made.network.set_training(spec.mode != "eval")
    return made


def snapshot_spec(doc: GraphDocument, batch: int, seed: int,
                  weights: WeightSource | None = None, dtype: str = "float64",
                  mode: str = "train") -> SessionSpec:
    from bpviz.graph import dumps_graph

    return SessionSpec(dumps_graph(doc), batch, seed, doc.name or "", weights, dtype, mode)
