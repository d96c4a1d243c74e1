"""What a slide deck of a pass says: one slide per step, after a title slide.

`plan_deck(document, session, steps, phase, explain)` chooses the steps
(`steps` a 1-based inclusive range over the whole pass, `phase` one of
forward, backward, update) and gathers, for each, what every format puts on
its slide: the step's title and formula lines (describe_step, the lines a
picture's caption prints), where its upstream gradient comes from, its key
tensors (forward: the output; backward: ∂L/∂out, or for a loss the ∂L/∂z it
sends back, and ∂L/∂θ of every parameter; update: the first parameter before
and after), the explanations of the entries asked for, and speaker notes
with the numbers (shapes, norms, the loss). The formats (deck_pptx,
deck_pdf, deck_beamer) only lay this out.

An explanation goes on the slide of the step that computes its entry: the
backward step of its node for a gradient (grad_out, grad_in/<k>, grad/<p>),
the forward step for anything else (out, param/<p>, target).

Deck options that select nothing, or name what is not there, are DeckErrors
(ExportErrors) that say so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.explain import ExplainError, Explanation, explain_entry
from bpviz.engine.formulas import describe_step
from bpviz.engine.shape_text import shape_text
from bpviz.engine.stepping import StepSession
from bpviz.export.base import ExportError
from bpviz.export.tensors import has_batch_axis
from bpviz.graph import GraphDocument

PHASES = ("forward", "backward", "update")
MAX_TENSORS = 3  # heatmaps on one slide
MAX_MAPS = 8  # tiles in one of them
MAX_EXPLANATIONS = 2  # on one slide, beside its formula
Selection = tuple[str, str, tuple[int, ...]]  # (node, tensor key, index)


class DeckError(ExportError):
    """Deck options that select nothing or name what the pass does not have."""


@dataclass(frozen=True)
class DeckTensor:
    key: str  # the npz key (bpviz.export.tensors), which also picks the colour map
    title: str  # what the slide calls it
    value: np.ndarray


@dataclass
class DeckSlide:
    position: int  # the StepSession position; -1 for the title slide
    heading: str  # "Step 14 of 29 · backward"
    title: str  # describe_step's title, or the graph's name
    lines: tuple[str, ...] = ()  # the formula, with its shapes
    aside: str = ""  # where the upstream gradient comes from
    tensors: list[DeckTensor] = field(default_factory=list)
    explanations: list[Explanation] = field(default_factory=list)
    notes: str = ""


@dataclass
class Deck:
    name: str
    document: GraphDocument
    session: StepSession
    title_slide: DeckSlide
    slides: list[DeckSlide]

    @property
    def positions(self) -> list[int]:
        return [slide.position for slide in self.slides]

    @property
    def all_slides(self) -> list[DeckSlide]:
        return [self.title_slide, *self.slides]


# -- options ----------------------------------------------------------------------
def parse_steps(text: str) -> tuple[int, int]:
    """'5-12' → (5, 12); '7' → (7, 7). Steps count from 1 over the whole pass."""
    match = re.fullmatch(r"\s*(\d+)\s*(?:[-–]\s*(\d+))?\s*", text or "")
    if not match:
        raise DeckError(f"--steps takes a range like 5-12 (or one step, 7), got {text!r}")
    first = int(match[1])
    last = int(match[2]) if match[2] else first
    if first < 1 or last < first:
        raise DeckError(f"--steps {text}: the range is empty (steps count from 1, "
                        "the first no larger than the last)")
    return first, last


def parse_explain(text: str) -> Selection:
    """'NODE:KEY:I,J,…' → (node, key, index); the index may be empty for a scalar."""
    parts = text.rsplit(":", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise DeckError(f"--explain takes NODE:KEY:I,J,… (e.g. fc:grad/weight:3,5), "
                        f"got {text!r}")
    node, key, index = parts
    cleaned = index.strip().strip("[]()").replace(" ", "")
    try:
        at = tuple(int(part) for part in cleaned.split(",")) if cleaned else ()
    except ValueError:
        raise DeckError(f"--explain {text}: the index must be whole numbers separated by "
                        "commas, e.g. 0,2,3") from None
    return node, key, at


# -- the plan ---------------------------------------------------------------------
def plan_deck(document: GraphDocument, session: StepSession,
              steps: tuple[int, int] | None = None, phase: str | None = None,
              explain: list[Selection] | None = None) -> Deck:
    """The deck of `session`'s pass: the title slide and one slide per chosen step."""
    positions = choose_positions(session, steps, phase)
    explanations = place_explanations(session, explain or [], positions)
    total = len(session.steps)
    slides = []
    for position in positions:
        step = session.steps[position]
        formula = describe_step(step, session.network)
        slide = DeckSlide(position, f"Step {position + 1} of {total} · {step.phase}",
                          formula.title, tuple(formula.caption), formula.context,
                          key_tensors(session, position),
                          explanations.get(position, []))
        slide.notes = step_notes(session, position, slide)
        slides.append(slide)
    return Deck(document.name or "graph", document, session,
                title_slide(document, session, positions), slides)


def choose_positions(session: StepSession, steps: tuple[int, int] | None,
                     phase: str | None) -> list[int]:
    total = len(session.steps)
    if phase is not None and phase not in PHASES:
        raise DeckError(f"unknown phase {phase!r} (phases: {', '.join(PHASES)})")
    if phase == "update" and not session.update_count:
        raise DeckError("this pass has no update steps: give --update sgd|adam for them")
    first, last = steps or (1, total)
    if first > total:
        raise DeckError(f"--steps {first}-{last} selects no step: this pass has {total} "
                        f"steps ({phase_ranges(session)})")
    chosen = [p for p in range(first - 1, min(last, total))
              if phase is None or session.steps[p].phase == phase]
    if not chosen:
        raise DeckError(f"--steps {first}-{last} has no {phase} step: this pass has "
                        f"{phase_ranges(session)}")
    return chosen


def phase_ranges(session: StepSession) -> str:
    forward, start, total = session.forward_count, session.update_start, len(session.steps)
    text = f"1–{forward} forward, {forward + 1}–{start} backward"
    return text + (f", {start + 1}–{total} update" if session.update_count else "")


def explained_position(session: StepSession, node: str, key: str) -> int:
    """The step whose slide shows an entry of `<node>/<key>`."""
    phase = "backward" if key.startswith("grad") else "forward"
    for position, step in enumerate(session.steps):
        if step.node == node and step.phase == phase:
            return position
    raise DeckError(f"--explain {node}:{key}: the pass has no {phase} step of '{node}'")


def place_explanations(session: StepSession, selections: list[Selection],
                       positions: list[int]) -> dict[int, list[Explanation]]:
    placed: dict[int, list[Explanation]] = {}
    for node, key, at in selections:
        name = f"{node}:{key}:{','.join(map(str, at))}"
        try:
            explanation = explain_entry(session, node, key, at)
        except ExplainError as error:
            raise DeckError(f"--explain {name}: {error}") from None
        except NotImplementedError as error:
            raise DeckError(f"--explain {name}: node '{node}': {error}") from None
        position = explained_position(session, node, key)
        if position not in positions:
            raise DeckError(f"--explain {name} belongs on step {position + 1}, which the "
                            "deck leaves out (see --steps and --phase)")
        placed.setdefault(position, []).append(explanation)
        if len(placed[position]) > MAX_EXPLANATIONS:
            raise DeckError(f"--explain: at most {MAX_EXPLANATIONS} explanations fit on one "
                            f"slide; step {position + 1} was given more")
    return placed


def key_tensors(session: StepSession, position: int) -> list[DeckTensor]:
    """The tensors a step's slide shows as heatmaps (scalars are left to the text)."""
    step = session.steps[position]
    node = step.node
    found: list[DeckTensor] = []
    if step.phase == "forward":
        found.append(DeckTensor(f"{node}/out", f"{node}: output", step.output))
    elif step.phase == "backward":
        if np.size(step.grad_output) > 1:
            found.append(DeckTensor(f"{node}/grad_out", f"∂L/∂out of {node}",
                                    step.grad_output))
        elif step.grad_inputs and step.grad_inputs[0] is not None:
            source = (sources_of(session, node) or ["input"])[0]
            found.append(DeckTensor(f"{node}/grad_in/0", f"∂L/∂{source} sent back by {node}",
                                    step.grad_inputs[0]))
        for name, grad in step.grad_params.items():
            found.append(DeckTensor(f"{node}/grad/{name}", f"∂L/∂{name} of {node}", grad))
    else:
        before, after = step.params_before, step.params_after
        for name in list(before)[:1]:
            found.append(DeckTensor(f"{node}/param/{name}", f"{name} before", before[name]))
            found.append(DeckTensor(f"{node}/param/{name}", f"{name} after", after[name]))
    return [trimmed(t) for t in found
            if t.value is not None and np.size(t.value) > 1][:MAX_TENSORS]


def sources_of(session: StepSession, node: str) -> list[str]:
    """The ids of the nodes that feed `node`, by port."""
    return list(session.network.nodes[node].inputs)


def trimmed(tensor: DeckTensor) -> DeckTensor:
    """At most MAX_MAPS maps of a tensor, so a slide's heatmap stays readable:
    sample 0's first channels of a batch of maps, the first kernels of input
    channel 0 of a conv weight."""
    value = np.asarray(tensor.value)
    batch = has_batch_axis(tensor.key)
    if batch and value.ndim == 4 and value.shape[1] > MAX_MAPS:
        return DeckTensor(tensor.key, f"{tensor.title}, channels 0–{MAX_MAPS - 1} "
                          f"of {value.shape[1]}", value[:1, :MAX_MAPS])
    if not batch and value.ndim == 4 and value.shape[0] * value.shape[1] > MAX_MAPS:
        return DeckTensor(tensor.key, f"{tensor.title}, kernels 0–{MAX_MAPS - 1} of "
                          f"{value.shape[0]}, input channel 0", value[:MAX_MAPS, :1])
    return tensor


# -- notes ------------------------------------------------------------------------
def norm_text(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    norm = float(np.sqrt(np.sum(array * array)))
    if array.size == 1:
        return f"= {float(array.reshape(-1)[0]):.4g}"
    finite = array[np.isfinite(array)]
    span = f", min {finite.min():.4g}, max {finite.max():.4g}" if finite.size else ""
    return f"shape {shape_text(array.shape)}, ‖·‖ = {norm:.4g}{span}"


def step_notes(session: StepSession, position: int, slide: DeckSlide) -> str:
    step = session.steps[position]
    batch = next(iter(session.feeds.values())).shape[0] if session.feeds else 0
    lines = [f"{slide.heading}: {slide.title}",
             f"Loss L = {session.loss:.6g} on this batch of N = {batch}."]
    lines += list(slide.lines)
    if slide.aside:
        lines.append(slide.aside)
    lines.append("Numbers:")
    if step.phase == "forward":
        lines.append(f"  {step.node} output: {norm_text(step.output)}")
    elif step.phase == "backward":
        lines.append(f"  ∂L/∂out of {step.node}: {norm_text(step.grad_output)}")
        for port, grad in enumerate(step.grad_inputs):
            if grad is not None:
                sources = sources_of(session, step.node)
                source = sources[port] if port < len(sources) else f"input {port}"
                lines.append(f"  ∂L/∂{source} sent back: {norm_text(grad)}")
        for name, grad in step.grad_params.items():
            lines.append(f"  ∂L/∂{name}: {norm_text(grad)}")
    else:
        for name in step.params_before:
            change = np.asarray(step.params_after[name]) - np.asarray(step.params_before[name])
            lines.append(f"  {name} before: {norm_text(step.params_before[name])}")
            lines.append(f"  {name} after: {norm_text(step.params_after[name])}")
            lines.append(f"  Δ{name}: ‖Δ‖ = {float(np.linalg.norm(change)):.4g}")
        if position == len(session.steps) - 1 and session.loss_after is not None:
            lines.append(f"  L before the update {session.loss:.6g}, after "
                         f"{session.loss_after:.6g} (same batch)")
    for explanation in slide.explanations:
        from bpviz.engine.explain_text import explanation_text

        lines += ["Explained:", explanation_text(explanation)]
    return "\n".join(lines)


def phases_text(phases: list[str]) -> str:
    """"forward pass", "forward and backward passes", "forward, backward and update passes"."""
    if len(phases) <= 1:
        return f"{''.join(phases)} pass"
    return f"{', '.join(phases[:-1])} and {phases[-1]} passes"


def title_slide(document: GraphDocument, session: StepSession,
                positions: list[int]) -> DeckSlide:
    batch = next(iter(session.feeds.values())).shape[0] if session.feeds else 0
    phases = sorted({session.steps[p].phase for p in positions}, key=PHASES.index)
    what = phases_text(phases)
    params = sum(int(np.size(v)) for node in session.network.order
                 for v in node.op.params.values())
    lines = (f"The {what}, step by step: {len(positions)} slides "
             f"(steps {positions[0] + 1}–{positions[-1] + 1} of {len(session.steps)})",
             f"{len(document.nodes)} nodes, {params:,} parameters, a batch of N = {batch}, "
             f"loss L = {session.loss:.4g}")
    notes = "\n".join([document.name or "graph", *lines, f"Steps: {phase_ranges(session)}."]
                      + ([f"After the update L = {session.loss_after:.6g}."]
                         if session.loss_after is not None and math.isfinite(
                             session.loss_after) else []))
    return DeckSlide(-1, "bpviz", document.name or "graph", lines, "", [], [], notes)
