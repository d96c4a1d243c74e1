"""Click any entry, see its sum: the chosen entry between the workspace and the panels.

EntryLink ties the workspace's chosen entry (bpviz.workspace.entry) to the
window. A click on a cell of the Tensors panel (a heatmap pixel, a matrix
cell, a bar) chooses that entry of the tensor in sight; the arrow keys move
it (Left/Right along a map's columns or a vector, Up/Down along its rows,
Page Up/Down through the maps), Esc clears it (entry_keys.py); the keys work
while the Tensors or the Formula panel has the focus. Each new entry is explained
(bpviz.engine.explain) on a worker thread, the newest one winning, so a
conv weight gradient with tens of thousands of terms never blocks the
window. Then

* the Formula panel shows the explanation above the step's formula
  (explanation_box.py: its numbers first, and every term in a scrolling list);
* the Tensors panel marks the entry's cell and, in whatever tab is in sight,
  the cells the explanation reads there (its factors' keys and indices);
* the canvas rings the nodes those tensors belong to.

`synchronous()` true explains on the calling thread (tests, snapshots).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt

from bpviz.engine.explain import Explanation, explain_entry
from bpviz.ui.stepping.entry_cells import (
    cell_index,
    map_position,
    page_cells,
    tab_for,
    tab_tensor,
)
from bpviz.ui.stepping.entry_keys import CLEARS, MOVES
from bpviz.ui.stepping.entry_marks import MapMarks, NodeMarks, mark_bars
from bpviz.ui.stepping.explanation_box import ExplanationBox
from bpviz.ui.thread_job import Job
from bpviz.ui.workspace_link import observe
from bpviz.workspace.entry import ChosenEntry, shown_keys

KEY = re.compile(r"(.+)/(out|grad_out|target|grad_in/\d+|param/[^/]+|grad/[^/]+)")


@dataclass
class EntryExplained:
    """An explanation and, per tensor it reads, the indices read ([n, ndim])."""

    entry: ChosenEntry
    explanation: Explanation
    reads: dict[str, np.ndarray] = field(default_factory=dict)
    symbols: dict[str, str] = field(default_factory=dict)  # key → its factors' symbol
    counts: dict[str, int] = field(default_factory=dict)  # key → distinct entries read
    seconds: float = 0.0


def explain_chosen(session, entry: ChosenEntry) -> EntryExplained:
    """Explain `entry` of `session` (on any thread: it only reads the pass)."""
    started = time.perf_counter()
    explanation = explain_entry(session, entry.node, entry.tensor, entry.at)
    found: dict[str, list] = {}
    symbols: dict[str, str] = {}
    for term in explanation.terms:
        for factor in term.factors:
            if factor.key is not None:
                found.setdefault(factor.key, []).append(factor.at)
                symbols.setdefault(factor.key, factor.label.split("[", 1)[0])
    reads = {key: np.array(ats, dtype=np.int64).reshape(len(ats), -1)
             for key, ats in found.items()}
    counts = {key: len(np.unique(indices, axis=0)) if indices.shape[1] else 1
              for key, indices in reads.items()}
    return EntryExplained(entry, explanation, reads, symbols, counts,
                          time.perf_counter() - started)


def key_node(key: str) -> str:
    match = KEY.fullmatch(key)
    return match[1] if match else key


class EntryLink(QObject):
    """The chosen entry: chosen in the Tensors panel, explained, marked everywhere."""

    def __init__(self, workspace, tensors, formula, scene,
                 synchronous: Callable[[], bool] = lambda: False,
                 message: Callable[[str], None] = lambda _text: None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.workspace, self.tensors, self.formula = workspace, tensors, formula
        self.synchronous, self.message = synchronous, message
        self.box = ExplanationBox()
        formula.add_above(self.box, 8)
        self.map_marks = MapMarks()
        self.node_marks = NodeMarks(scene)
        self.explained: EntryExplained | None = None
        self.job: Job | None = None
        self.wanted: ChosenEntry | None = None  # explain this once the running job is done
        self._bars_marked = False
        tensors.cell_clicked.connect(self._cell_clicked)
        tensors.bar_clicked.connect(self._bar_clicked)
        tensors.redrawn.connect(self.mark)
        self.box.clear_button.clicked.connect(workspace.clear_entry)
        self.box.reads.linkActivated.connect(self.follow_link)
        for widget in (tensors, tensors.grid, tensors.bars, self.box.text):
            widget.installEventFilter(self)
        for widget in (tensors.grid, tensors.bars):
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        observe(workspace, self, self._workspace_event)

    # -- choosing ------------------------------------------------------------
    def _cell_clicked(self, map_index: int, row: int, col: int) -> None:
        self._choose(lambda shape, per_sample, sample: cell_index(
            shape, per_sample, sample, map_index, row, col))

    def _bar_clicked(self, j: int) -> None:
        self._choose(lambda shape, per_sample, sample: cell_index(
            shape, per_sample, sample, 0, 0, j))

    def _choose(self, index_of) -> None:
        view = self.tensors
        entry = view.current_entry()
        session = self.workspace.session
        named = tab_tensor(view.step, session.network if session else None,
                           entry.key) if entry else None
        if named is None:
            return
        shape = entry.array.shape
        sample = min(view.sample.value(), shape[0] - 1) if entry.per_sample else 0
        try:
            self.workspace.choose_entry(*named, index_of(shape, entry.per_sample, sample))
        except ValueError as error:
            self.message(f"cannot explain that entry: {error}")

    def show_tensor(self, key: str) -> bool:
        """Show the tab of the Tensors panel that holds `key`; False when the step
        shows no such tensor."""
        tab = self.links().get(key)
        return tab is not None and self.tensors.select(tab)

    def follow_link(self, key: str) -> bool:
        """A link in the box: show `key`'s tab. When the step in sight does not show
        it, the pass moves to the nearest step that does, one that still shows the
        explained entry first (so the explanation stays); False when none does."""
        if self.show_tensor(key):
            return True
        position = self._step_showing(key)
        if position is None:
            return False
        self.workspace.seek(position)
        return self.show_tensor(key)

    def _step_showing(self, key: str) -> int | None:
        """The position of the step nearest the current one that shows `key`: first
        one that shows the chosen entry too, then one of the same phase."""
        session, entry = self.workspace.session, self.workspace.entry
        if session is None:
            return None
        here = session.current
        phase = here.phase if here is not None else "forward"
        ranked = []
        for position, step in enumerate(session.steps):
            if step.phase not in ("forward", "backward"):
                continue
            keys = shown_keys(step, session.network)
            if key in keys:
                ranked.append((entry is not None and entry.key not in keys,
                               step.phase != phase, abs(position - session.position),
                               position))
        return min(ranked)[-1] if ranked else None

    # -- events ----------------------------------------------------------------
    def _workspace_event(self, event: str, payload: dict) -> None:
        if event == "entry_changed":
            self._entry_changed(payload["entry"])

    def _entry_changed(self, entry: ChosenEntry | None) -> None:
        if entry is None:
            self.wanted, self.explained = None, None
            if self.job is not None:
                self.job.discard()
                self.job = None
            self.box.clear()
            self.node_marks.clear()
            self.mark()
            return
        self._bring_into_sight(entry)
        if self.explained is None or self.explained.entry.key != entry.key:
            self.box.show_waiting(entry)
        self.wanted = entry
        self._explain_next()

    def _explain_next(self) -> None:
        """Explain the newest entry wanted, one job at a time."""
        session = self.workspace.session
        if self.job is not None or self.wanted is None or session is None:
            return
        entry, self.wanted = self.wanted, None
        self.job = Job(explain_chosen, session, entry, parent=self)
        self.job.finished.connect(self._explained)
        self.job.failed.connect(lambda message, e=entry: self._failed(e, message))
        self.job.run_here() if self.synchronous() else self.job.start()

    def _explained(self, explained: EntryExplained) -> None:
        self.job = None
        if explained.entry == self.workspace.entry:
            self.explained = explained
            self.box.show_explained(explained)
            self._mark_nodes()
            self.mark()
        self._explain_next()

    def _failed(self, entry: ChosenEntry, message: str) -> None:
        self.job = None
        if entry == self.workspace.entry:
            self.explained = None
            self.box.show_failure(entry, message)
            self.mark()
        self._explain_next()

    # -- where it shows --------------------------------------------------------
    def links(self) -> dict[str, str]:
        """npz key → the tab of the current step that shows it."""
        view, session = self.tensors, self.workspace.session
        if session is None or view.step is None:
            return {}
        links = {}
        for tab in (e.key for e in view.entries):
            named = tab_tensor(view.step, session.network, tab)
            if named is not None:
                links.setdefault(f"{named[0]}/{named[1]}", tab)
        return links

    def _bring_into_sight(self, entry: ChosenEntry) -> None:
        """The entry's tab (unless the tab in sight shows what it reads), its sample,
        its page of maps."""
        view, session = self.tensors, self.workspace.session
        if session is None or view.step is None:
            return
        tabs = [e.key for e in view.entries]
        current = view.current_entry()
        shown = tab_tensor(view.step, session.network, current.key) if current else None
        read = self.explained.reads if self.explained is not None else {}
        shown_key = f"{shown[0]}/{shown[1]}" if shown else None
        if shown_key != entry.key and shown_key not in read:
            tab = tab_for(view.step, session.network, tabs, entry.node, entry.tensor)
            if tab is not None:
                view.select(tab)
        current = view.current_entry()
        if current is None or tab_tensor(view.step, session.network,
                                         current.key) != (entry.node, entry.tensor):
            return
        sample, map_index, _, _ = map_position(entry.at, current.array.shape,
                                               current.per_sample)
        if current.per_sample and view.sample.value() != sample:
            view.set_sample(sample)
        if current.array.ndim - current.per_sample >= 3:
            view.pages.bring_into_sight(map_index)

    def mark(self) -> None:
        """Mark, in the tab in sight, the entry's cell and the cells it reads."""
        view = self.tensors
        entry_shown = view.current_entry()
        session = self.workspace.session
        chosen = self.workspace.entry
        if entry_shown is None or session is None or chosen is None or view.step is None:
            if self.map_marks.items:
                self.map_marks.clear()
            if self._bars_marked:
                mark_bars(view.bars, None, None)
                self._bars_marked = False
            return
        named = tab_tensor(view.step, session.network, entry_shown.key)
        key = f"{named[0]}/{named[1]}" if named else ""
        shape, per_sample = entry_shown.array.shape, entry_shown.per_sample
        sample = min(view.sample.value(), shape[0] - 1) if per_sample else 0
        reads = (self.explained.reads.get(key) if self.explained is not None
                 and self.explained.entry == chosen else None)
        empty = np.zeros((0, len(shape)), dtype=np.int64)
        bars = view.plots.currentWidget() is view.bars
        first, shown = (0, 1) if bars else (view.pages.first, view.pages.shown)
        masks = page_cells(reads if reads is not None else empty, shape, per_sample, sample,
                           first, shown)
        spot = None
        if key == chosen.key:
            at_sample, map_index, row, col = map_position(chosen.at, shape, per_sample)
            if at_sample == sample and first <= map_index < first + shown:
                spot = (map_index - first, row, col)
        if bars:
            self.map_marks.clear()
            mark_bars(view.bars, masks[0], spot[2] if spot else None)
            self._bars_marked = True
        else:
            self.map_marks.show(view.grid.boxes, masks, spot)

    def _mark_nodes(self) -> None:
        explained = self.explained
        if explained is None:
            self.node_marks.clear()
            return
        labels: dict[str, list[str]] = {}
        for key in explained.reads:
            labels.setdefault(key_node(key), []).append(
                f"{explained.symbols.get(key, key)} ×{explained.counts[key]:,}")
        entry = explained.entry
        self.node_marks.show({node: "reads " + ", ".join(parts)
                              for node, parts in labels.items()},
                             entry.node, f"explained: {entry.text()}")

    # -- keys ------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            return False
        if self.workspace.entry is None:
            return False
        key = event.key()
        if key not in MOVES and key not in CLEARS:
            return False
        if event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # the keys are ours while an entry is chosen (not Esc's action)
            return True
        if key in CLEARS:
            self.workspace.clear_entry()
        else:
            self.workspace.move_entry(*MOVES[key])
        return True
