"""Workspace: everything a run of the document has, without Qt.

One Workspace belongs to one window (and to each headless command or test
that wants the same behaviour). It holds

* the document being edited (`doc`) and its shape report (`report`): the
  window's editor tells it with `set_document` and `set_report`; any edit
  other than moving a node drops the pass;
* the step settings (`settings`: seed, batch, dtype, mode, update;
  `set_settings` drops the pass), the pass (`built`, a passes.Built with its StepSession:
  `session`), its step position (`seek`, `seek_step`), and the torch check
  of that pass (`verification`);
* the weights held besides the seed's (`weights`, weights.HeldWeights);
* the training run (`training`, training.Training).

Observers `subscribe(callback)` and are called with (event, payload) after
every change, as the graph document calls its listeners:
"document_replaced", "settings_changed" (settings), "pass_built" (built),
"pass_dropped" (had: a pass was built; also sent when none was, so builds
under way stop; resume: the position to build it again at, when only its
update phase changed: the update step turned on or off, or the Training
panel's optimizer settings, bpviz.workspace.update), "position_changed"
(position, -1 before the first step), "verified" (result), "weights_changed"
(source), "input_image_changed" (image: a picture as the pass's input,
input_image.py, or None; a pass setting, forgotten with the document),
"entry_changed" (entry: the entry of a pass tensor chosen to be explained,
entry.py, or None) and the training's events (training.py).

Work that runs elsewhere (a build on a worker thread, the torch check, a
training process) reports into the workspace: `set_pass`, `set_verification`,
`training.add`, …; `build_pass` builds on the calling thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bpviz.graph import GraphDocument, ShapeReport, infer_shapes
from bpviz.graph.observable import Observable
from bpviz.workspace.entry import ChosenEntry, moved, shown_keys
from bpviz.workspace.input_image import InputImage, fit_problem
from bpviz.workspace.passes import Built, SessionSpec, Verified, build_session, refusal
from bpviz.workspace.passes import snapshot_spec as _spec
from bpviz.workspace.sources import data_label, initial_label
from bpviz.workspace.training import Training
from bpviz.workspace.update import UpdateChoice, choice_from
from bpviz.workspace.weights import HeldWeights

DTYPES = ("float64", "float32")
MODES = ("train", "eval")


@dataclass(frozen=True)
class StepSettings:
    """What a pass is built with besides the document and the weights."""

    seed: int = 0  # the initial weights' and the random batch's
    batch: int = 4  # samples in the batch
    dtype: str = "float64"
    mode: str = "train"  # "train": batch statistics, dropout; "eval": running statistics
    update: bool = True  # end the pass with the update step (Run › Show the Update Step)

    def problem(self) -> str | None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            return f"the seed must be a whole number of at least 0, got {self.seed!r}"
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            return f"the batch size must be a whole number of at least 1, got {self.batch!r}"
        if self.dtype not in DTYPES:
            return f"the dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}"
        if self.mode not in MODES:
            return f"the mode must be one of {', '.join(MODES)}, got {self.mode!r}"
        if not isinstance(self.update, bool):
            return f"showing the update step is on or off (True or False), got {self.update!r}"
        return None


class Workspace(Observable):
    def __init__(self, doc: GraphDocument | None = None,
                 report: ShapeReport | None = None) -> None:
        super().__init__()
        self.doc = doc if doc is not None else GraphDocument("untitled")
        self.report = report if report is not None else infer_shapes(self.doc)
        self.settings = StepSettings()
        self.built: Built | None = None
        self.verification: Verified | None = None
        self.weights = HeldWeights(self)
        self.training = Training(self)
        self._position = -1  # the position last announced
        self.entry: ChosenEntry | None = None  # the entry chosen to be explained
        self.input_image: InputImage | None = None  # a picture as sample 0 of the input
        self._unsubscribe = self.doc.subscribe(self._doc_event)
        self.subscribe(self._training_config)

    # -- observers -------------------------------------------------------------
    def emit(self, event: str, **payload: Any) -> None:
        """Tell every subscriber `event` with `payload`."""
        self._emit(event, **payload)

    # -- the document ----------------------------------------------------------
    def set_document(self, doc: GraphDocument, report: ShapeReport | None = None) -> None:
        """Another document: the pass goes, held weights are forgotten, an idle
        training run's metrics go (its weights too unless they fit)."""
        self._unsubscribe()
        self.doc = doc
        self.report = report if report is not None else infer_shapes(doc)
        self._unsubscribe = doc.subscribe(self._doc_event)
        self.drop_pass()
        had_image, self.input_image = self.input_image is not None, None
        self.training.document_replaced()
        self.weights.forget()
        if had_image:
            self.emit("input_image_changed", image=None)
        self.emit("document_replaced")

    def set_report(self, report: ShapeReport) -> None:
        """The shape report of the document as it is now (after an edit)."""
        self.report = report
        self.training.graph_edited()

    def _doc_event(self, event: str, _payload: dict) -> None:
        if event != "pos_changed":
            self.drop_pass()

    # -- step settings ---------------------------------------------------------
    def set_settings(self, **changes) -> None:
        """Change seed, batch, dtype, mode or update (ValueError for a bad one); the
        pass goes (turning the update step on or off asks for it again at its step)."""
        settings = replace(self.settings, **changes)
        problem = settings.problem()
        if problem:
            raise ValueError(problem)
        if settings == self.settings:
            return
        only_update = replace(self.settings, update=settings.update) == settings
        self.settings = settings
        self.drop_pass(resume=only_update)
        self.emit("settings_changed", settings=settings)

    def update_choice(self) -> UpdateChoice | None:
        """The optimizer the pass's update phase shows (None: the update step is off)."""
        return choice_from(self.training.config) if self.settings.update else None

    def _training_config(self, event: str, _payload: dict) -> None:
        """Other optimizer settings in the Training panel: the update phase shows them."""
        built = self.built
        if (event == "training_config" and built is not None
                and built.spec.update not in (None, self.update_choice())):
            self.drop_pass(resume=True)

    # -- the pass --------------------------------------------------------------
    @property
    def session(self):
        return self.built.session if self.built is not None else None

    def refusal(self) -> str | None:
        """Why no pass can be built now, or None."""
        update = self.update_choice()
        return refusal(self.doc, self.report, self.settings.batch, self.settings.dtype,
                       update.optimizer if update is not None else None)

    def pass_spec(self) -> SessionSpec:
        """What a pass of the document is built from now (its text: edits made
        meanwhile do not reach a build under way)."""
        settings = self.settings
        spec = _spec(self.doc, settings.batch, settings.seed, self.weights.in_use,
                     settings.dtype, settings.mode)
        return replace(spec, update=self.update_choice(), image=self.input_image)

    def set_input_image(self, image: InputImage | None) -> None:
        """Run the passes on `image` (sample 0 of the batch; None: the batch as it is);
        ValueError when the document's input cannot take a picture. The pass goes."""
        if image is not None:
            inputs = [node_id for node_id, node in self.doc.nodes.items() if node.op == "input"]
            shape = self.report.shapes.get(inputs[0]) if inputs else None
            if shape is None:
                raise ValueError("the graph has no input node of a known shape to take "
                                 "the picture")
            problem = fit_problem(tuple(shape))
            if problem is not None:
                raise ValueError(f"{image.name} cannot be the input: {problem}")
        self.input_image = image
        self.drop_pass()
        self.emit("input_image_changed", image=image)

    def build_pass(self) -> str | None:
        """Build the pass on this thread; why not, when it cannot be built."""
        why = self.refusal()
        if why is not None:
            return why
        try:
            built = build_session(self.pass_spec())
        except (ValueError, MemoryError) as error:
            return str(error) or type(error).__name__
        self.set_pass(built)
        return None

    def set_pass(self, built: Built) -> None:
        """A pass was built (here or on a worker thread)."""
        self.built, self.verification = built, None
        self._position = built.session.position
        self.clear_entry()  # it named a number of another pass
        self.emit("pass_built", built=built)

    def drop_pass(self, resume: bool = False) -> None:
        """Drop the pass and its torch check (the graph, the settings or the weights
        changed); observers stop builds and checks under way. With `resume` (only
        the update phase changed), the payload's `resume` is the position the
        pass was at, for a window to build it again and come back there (else -1)."""
        had = self.built is not None
        position = self._position if had and resume else -1
        self.built, self.verification, self._position = None, None, -1
        self.clear_entry()
        if position >= 0:
            self.emit("pass_dropped", had=had, resume=position)
        else:
            self.emit("pass_dropped", had=had)

    def seek(self, position: int) -> None:
        """Move the pass to `position` (-1: before the first step)."""
        session = self.session
        if session is None:
            return
        if session.position != position:
            session.seek(position)
        if position != self._position:
            self._position = position
            if self.entry is not None and self.entry.key not in shown_keys(
                    session.current, session.network):
                self.clear_entry()
            self.emit("position_changed", position=position)

    def seek_step(self, phase: str, number: int) -> None:
        """Show the `number`-th step (from 1) of `phase`; IndexError when there is none."""
        session = self.session
        if session is None:
            raise IndexError("there is no pass to step through")
        starts = {"forward": 0, "backward": session.forward_count,
                  "update": session.update_start}
        if phase not in starts:
            raise IndexError(f"a phase is forward, backward or update, not {phase!r}")
        ends = {"forward": session.forward_count, "backward": session.update_start,
                "update": len(session.steps)}
        count = ends[phase] - starts[phase]
        if phase == "update" and count == 0:
            raise IndexError("this pass has no update steps (no trainable node with a "
                             "gradient, or the update step is off)")
        if not 1 <= number <= count:
            raise IndexError(f"the {phase} pass has steps 1 to {count}, not {number}")
        self.seek(starts[phase] + number - 1)

    # -- the entry explained ---------------------------------------------------
    def choose_entry(self, node: str, tensor: str, at) -> ChosenEntry:
        """Choose `<node>/<tensor>[at]` of the pass to be explained; ValueError (what
        and where) when there is no pass, no such tensor or the index is outside it."""
        from bpviz.engine.explain import check_index, tensor_of

        session = self.session
        if session is None:
            raise ValueError("there is no pass: step through one first (F10)")
        if node not in session.network.nodes:
            raise ValueError(f"no node '{node}' in this pass")
        array = tensor_of(session, node, tensor)
        entry = ChosenEntry(node, tensor, check_index(array, tuple(at), f"{node}/{tensor}"))
        if entry != self.entry:
            self.entry = entry
            self.emit("entry_changed", entry=entry)
        return entry

    def move_entry(self, rows: int = 0, columns: int = 0, maps: int = 0) -> None:
        """Move the chosen entry (arrow keys), stopping at the tensor's edges."""
        from bpviz.engine.explain import tensor_of

        if self.entry is None or self.session is None:
            return
        shape = tensor_of(self.session, self.entry.node, self.entry.tensor).shape
        entry = moved(self.entry, shape, rows, columns, maps)
        if entry != self.entry:
            self.entry = entry
            self.emit("entry_changed", entry=entry)

    def clear_entry(self) -> None:
        if self.entry is not None:
            self.entry = None
            self.emit("entry_changed", entry=None)

    def set_verification(self, result: Verified) -> None:
        """The torch check of the pass came back."""
        self.verification = result
        self.emit("verified", result=result)

    # -- what the pass shows ---------------------------------------------------
    def weights_label(self) -> tuple[str, str, str]:
        """(weights, batch, note): which weights the pass shows (or will show), on
        what batch, and why the held ones are not used."""
        if self.built is not None:
            return self.built.weights, self.built.batch, self.built.note
        source = self.weights.in_use
        label = source.label if source is not None else initial_label(self.settings.seed)
        data = source.data if source is not None else None
        batch = "a random batch" if data is None else data_label(data)
        if self.input_image is not None:
            batch = f"{self.input_image.name} (sample 0) and {batch}"
        return label, batch, ""
