"""The graph as the exports draw it: the app's own canvas, rendered off screen.

A SceneFigure builds the canvas's GraphScene (bpviz.scene) on a read-only
DocumentModel over a copy of the document, so an exported picture is exactly
what the canvas shows: the same node boxes, wire routes, shape labels and, at
a step of a pass, the canvas's own step drawing (`GraphScene.show_step`: the
current node glows, done nodes carry a bar, backward wires are coloured and
thickened by their gradient's norm on a log scale over the whole pass, "+"
where a fork sums gradients).

Layout: `SceneFigure(..., layout="slide")` moves the nodes of its copy into
rows that fit a slide (bpviz.export.slide): it tries each cut of the columns
into rows on the scene itself, routed as the canvas routes a wrapped graph,
and keeps the one whose picture (plus `reserve_height`, room for a caption)
comes nearest the aspect ratio; "auto" does so only for a picture more than
3:1 wide. The document given is never touched.

Themes: the canvas reads the theme in use when it paints. `painting_theme`
sets the theme a figure asks for around each of its (synchronous) renders
only, without the signal or the saved setting of a real theme switch, so
exporting in the dark theme leaves a light window as it was.

`step_state(session, position)` is what a picture shows at one step, with
its caption: the step's formula lines and shapes (describe_step's `caption`)
and, apart, where its upstream gradient comes from. The session's own
position is left as it was. Scenes live in the GUI thread.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem

from bpviz.engine.formulas import describe_step
from bpviz.engine.stepping import StepSession, WireKey
from bpviz.export.base import ensure_app
from bpviz.export.slide import (
    SLIDE_ASPECT,
    check_layout,
    closest_to,
    slide_arrangements,
    wants_slide,
)
from bpviz.graph import GraphDocument

MARGIN = 24.0


@contextmanager
def painting_theme(name: str) -> Iterator[None]:
    """The theme `name` for what is painted inside the block (no signal, nothing saved)."""
    from bpviz.scene.theme import THEMES, theme_manager

    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r} (themes: {', '.join(THEMES)})")
    manager = theme_manager()
    saved = manager.theme
    manager.theme = THEMES[name]
    try:
        yield
    finally:
        manager.theme = saved


@dataclass
class StepState:
    """One step of a StepSession, as a picture shows it."""

    position: int  # -1 (nothing shown) … len(steps) − 1
    total: int
    phase: str
    active: str | None
    done: frozenset[str]  # nodes whose step in the current phase is shown
    norms: dict[WireKey, float]
    norm_range: tuple[float, float]  # smallest positive and largest norm of the whole pass
    title: str = ""
    lines: tuple[str, ...] = ()  # the step's formula with its shapes (describe_step's caption)
    aside: str = ""  # where the upstream gradient comes from, in backward

    @property
    def has_norms(self) -> bool:
        return self.norm_range[1] > 0

    def level(self, norm: float) -> float:
        """Where `norm` lies in the pass's range, 0 … 1, on a log scale."""
        low, high = self.norm_range
        if norm <= 0 or high <= 0:
            return 0.0
        if high <= low:
            return 1.0
        t = (math.log10(norm) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return min(max(t, 0.0), 1.0)


def step_state(session: StepSession, position: int) -> StepState:
    """The picture's state at `position` (the session's position is restored)."""
    saved = session.position
    try:
        session.seek(len(session.steps) - 1)
        every = [n for n in session.wire_gradient_norms().values() if n > 0 and math.isfinite(n)]
        session.seek(position)
        state = StepState(position, len(session.steps), session.phase, session.active_node,
                          session.done_nodes(), session.wire_gradient_norms(),
                          (min(every), max(every)) if every else (0.0, 0.0))
        step = session.current
        if step is not None:
            formula = describe_step(step, session.network)
            state.title = f"step {position + 1}/{len(session.steps)} · {formula.title}"
            state.lines, state.aside = formula.caption, formula.context
        else:
            state.title = f"before the first step · {len(session.steps)} steps"
    finally:
        session.seek(saved)
    return state


class SceneFigure:
    """The canvas's scene for `document`, in `theme`, ready to render."""

    def __init__(self, document: GraphDocument, theme: str = "light", layout: str = "canvas",
                 aspect: float = SLIDE_ASPECT, reserve_height: float = 0.0) -> None:
        check_layout(layout)
        ensure_app()
        from bpviz.scene.model import DocumentModel
        from bpviz.scene.scene import GraphScene

        self.name = document.name
        self.theme = theme
        with painting_theme(theme):
            self.model = DocumentModel(document)
            self.scene = GraphScene(self.model)
            self.scene.route_all()
            bounds = self.bounds()
            if wants_slide(layout, bounds.width(), bounds.height() + reserve_height):
                self.fit_slide(aspect, reserve_height)
        self.scene.clearSelection()
        self.state: StepState | None = None

    def fit_slide(self, aspect: float, reserve_height: float = 0.0) -> None:
        """Move the nodes into the rows whose picture comes nearest `aspect`."""
        arrangements = slide_arrangements(self.model.doc, self.scene.node_sizes())

        def measure(positions) -> tuple[float, float]:
            self.arrange(positions)
            bounds = self.bounds()
            return bounds.width(), bounds.height() + reserve_height

        self.arrange(closest_to(arrangements, aspect, measure))

    def arrange(self, positions: dict[str, tuple[float, float]]) -> None:
        """Put the nodes at `positions` (on the figure's copy) and route the wires."""
        doc = self.model.doc
        for node_id, pos in positions.items():
            doc.set_pos(node_id, pos)
        self.scene.route_all()

    @property
    def node_ids(self) -> list[str]:
        return list(self.scene.nodes)

    def node_item(self, node_id: str):
        return self.scene.nodes[node_id]

    def group_items(self) -> list[tuple[str, bool, object]]:
        """(group name, folded, item) for every group drawn: a folded group's box, an
        unfolded group's frame; in the document's order of groups."""
        folding = self.scene.folding
        drawn = [(name, True, folding.boxes.get(name)) if name in folding.boxes
                 else (name, False, folding.frames.get(name)) for name in self.model.doc.groups]
        return [(name, folded, item) for name, folded, item in drawn if item is not None]

    def wire_items(self) -> list[tuple[WireKey, object]]:
        """((source, consumer, port), item) for every wire, in the document's order."""
        order = list(self.model.doc.nodes)
        items = [((wire.src.node_id, dst, port), wire)
                 for (dst, port), wire in self.scene.wires.items()]
        return sorted(items, key=lambda pair: (order.index(pair[0][1]), pair[0][2]))

    def show(self, state: StepState | None) -> None:
        """Draw `state` on the scene (None: the plain editing picture)."""
        self.state = state
        with painting_theme(self.theme):
            if state is None or state.position < 0:
                self.scene.clear_step()
            else:
                span = state.norm_range if state.has_norms else None
                self.scene.show_step(state.active, state.norms, state.done, state.phase, span)

    def bounds(self) -> QRectF:
        """Everything the scene draws now, with a margin."""
        rect = self.scene.itemsBoundingRect()
        return rect.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN)

    def render(self, painter: QPainter, target: QRectF, source: QRectF,
               only: Iterable[object] | None = None) -> None:
        """Paint `source` (scene coordinates) into `target`, without the scene's
        background; with `only`, just those top-level items (and their children)."""
        hidden = []
        if only is not None:
            keep = set(map(id, only))
            hidden = [item for item in self.scene.items()
                      if item.parentItem() is None and id(item) not in keep and item.isVisible()]
        self._without_caches()
        brush = self.scene.backgroundBrush()
        self.scene.setBackgroundBrush(Qt.BrushStyle.NoBrush)
        for item in hidden:
            item.setVisible(False)
        try:
            with painting_theme(self.theme):
                self.scene.render(painter, target, source, Qt.AspectRatioMode.IgnoreAspectRatio)
        finally:
            for item in hidden:
                item.setVisible(True)
            self.scene.setBackgroundBrush(brush)

    def _without_caches(self) -> None:
        """Items that the canvas caches as pixmaps would come out as bitmaps in an
        SVG or PDF: an export paints every item afresh, as vectors."""
        none = QGraphicsItem.CacheMode.NoCache
        for item in self.scene.items():
            if item.cacheMode() != none:
                item.setCacheMode(none)

    def close(self) -> None:
        self.scene.clear()
        # The items are gone; a theme switch before the scene itself goes must not
        # reach them.
        self.scene.nodes.clear()
        self.scene.wires.clear()
        self.scene.deleteLater()
        self.model.deleteLater()
