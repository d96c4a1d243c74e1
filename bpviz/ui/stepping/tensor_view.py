"""The tensors of one step: its output, ∂L/∂out, the gradients it produces, its parameters.

`tensor_entries(step, network)` lists them (no Qt); TensorView shows one at a
time, chosen with a tab bar, for one sample of the batch (a spin box):
feature maps as a grid of per-channel heatmaps (a page of as many as the
grid draws large enough to read, at most 16, see map_pages; a resize
recomputes the page; a double-click shows one alone and large), matrices as one heatmap,
vectors as bars, with a colour bar, a histogram and the value under the mouse.
A map larger than its box on screen is drawn as block means and the status
line says so; the range, extremes, norm and histogram of a big tensor come
from the pass's Summaries (bpviz.workspace.tensor_summary: made on the
worker that built the pass), so no step passes over fc6's weights on the UI
thread.
Gradients and parameters use a diverging colour map centred on zero over the
whole tensor (every page shares the colour bar), activations a sequential
one. Stepping to a step whose tensor has the same shape reuses every plot
item and keeps the page. The plots follow the app's theme. A click on a
cell or a bar says which (`cell_clicked(map, row, col)` with the map's index
in the tensor, `bar_clicked(j)`): the entry to explain (entry_view.py, which
draws its marks after every `redrawn`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine import OPS
from bpviz.engine.executor import Network, Step
from bpviz.engine.formulas import LOSS
from bpviz.engine.shape_text import shape_text
from bpviz.ui.stepping.bars import BarChart
from bpviz.ui.stepping.data_views import BatchImages, TargetView, is_image_batch
from bpviz.ui.stepping.heatmaps import HeatmapGrid
from bpviz.ui.stepping.histogram import HistogramView
from bpviz.ui.stepping.map_pages import PAGE_SIZE, MapPages, map_count, map_noun, maps_from
from bpviz.ui.stepping.plot_theme import follow_theme
from bpviz.ui.stepping.tab_titles import fit_titles
from bpviz.ui.stepping.update_tensors import KeyBeforeUpdate, first_key, update_entries
from bpviz.workspace.tensor_summary import Summaries, Summary


@dataclass(frozen=True)
class TensorEntry:
    key: str  # stable across steps: "out", "grad_out", "grad_in:0", "grad:weight", ...
    label: str  # in the lecture's symbols: "∂L/∂Z"
    array: np.ndarray
    per_sample: bool  # the first axis is the batch
    kind: str  # "activation", "gradient" or "parameter"

    @property
    def diverging(self) -> bool:
        return self.kind != "activation"


def tensor_entries(step: Step, network: Network | None = None) -> list[TensorEntry]:
    if step.phase == "update":
        return update_entries(step, TensorEntry)  # θ before, ∂L/∂θ, θ after, Δθ, state
    op = OPS[step.op]  # the lecture's symbols, as the op declares them
    x, y = op.symbols
    count = len(step.inputs)
    inputs = [f"{x}_{k + 1}" if count > 1 else x for k in range(count)]
    params = op.param_symbols
    batched = step.output.ndim > 0
    entries = [TensorEntry("out", f"out {y}", step.output, batched, "activation")]
    if step.grad_output is not None:
        entries.append(TensorEntry("grad_out", f"∂{LOSS}/∂{y}", step.grad_output, batched,
                                   "gradient"))
    for k, grad in enumerate(step.grad_inputs):
        if grad is not None:
            entries.append(TensorEntry(f"grad_in:{k}", f"∂{LOSS}/∂{inputs[k]}", grad, True,
                                       "gradient"))
    for name, grad in step.grad_params.items():
        entries.append(TensorEntry(f"grad:{name}", f"∂{LOSS}/∂{params.get(name, name)}", grad,
                                   False, "gradient"))
    if network is not None and step.node in network.nodes:
        for name, value in network.nodes[step.node].op.params.items():
            entries.append(TensorEntry(f"param:{name}", params.get(name, name), value, False,
                                       "parameter"))
    for k, value in enumerate(step.inputs):
        entries.append(TensorEntry(f"in:{k}", f"in {inputs[k]}", value, True, "activation"))
    if step.target is not None and step.inputs:  # the loss compares ŷ with y
        entries.insert(0, TensorEntry("target", "y beside ŷ", step.target, True, "target"))
    if step.op == "input" and is_image_batch(step.output):
        entries.insert(0, TensorEntry("images", "batch as images", step.output, False,
                                      "images"))
    return entries


def opening_tab(step: Step) -> str | None:
    """The tab a step opens on when the panel comes from another node or phase: a
    loss's target beside ŷ (forward) or the gradient it sends to ŷ (backward; its
    ∂L/∂L is 1), an input's batch as pictures; None: the tab in sight stays when
    the step has it (a backward step opens on ∂L/∂out)."""
    if step.phase == "backward" and step.output.ndim == 0 and step.grad_inputs:
        return next((f"grad_in:{k}" for k, grad in enumerate(step.grad_inputs)
                     if grad is not None), None)
    if step.phase != "forward":
        return None
    if step.target is not None and step.inputs:
        return "target"
    if step.op == "input" and step.phase == "forward" and is_image_batch(step.output):
        return "images"
    return None


class TensorView(QWidget):
    sample_changed = Signal(int)
    cell_clicked = Signal(int, int, int)  # map index in the tensor (0 for a matrix), row, col
    bar_clicked = Signal(int)
    redrawn = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: Step | None = None
        self.entries: list[TensorEntry] = []
        self._before_update = KeyBeforeUpdate()
        self._opened: str | None = None  # the tab the panel chose itself, not the user
        self.tabs = QTabBar()
        self.tabs.setObjectName("tensor_tabs")
        self.tabs.setExpanding(False)
        self.tabs.currentChanged.connect(self._redraw)
        self.sample = QSpinBox()
        self.sample.setObjectName("tensor_sample")
        self.sample.setPrefix("sample ")
        self.sample.valueChanged.connect(self._sample_changed)
        self.grid = HeatmapGrid()
        self.grid.setObjectName("tensor_grid")
        self.grid.setToolTip("click a cell to explain its number; double-click a map to see "
                             "it alone and large, again to go back")
        self.grid.clicked.connect(self._map_clicked)
        self.grid.cell_clicked.connect(
            lambda k, row, col: self.cell_clicked.emit(self.pages.first + k, row, col))
        self.grid.resized.connect(self._grid_resized)
        self.bars = BarChart()
        self.bars.setObjectName("tensor_bars")
        self.bars.clicked.connect(self.bar_clicked)
        self.plots = QStackedWidget()  # NOTE: two widgets: switching rebuilds neither
        self.plots.addWidget(self.grid)
        self.plots.addWidget(self.bars)
        self.batch_images, self.target_view = BatchImages(), TargetView()
        self.plots.addWidget(self.batch_images)
        self.plots.addWidget(self.target_view)
        self.summaries = Summaries()  # the pass's (set_summaries): big tensors summarised once
        self.labels: list[str] | None = None  # the batch's class labels (set_labels)
        self.random_samples = range(0)  # the samples drawn at random (set_labels)
        self.class_names: tuple[str, ...] | None = None
        self.pages = MapPages()
        self.pages.changed.connect(self._redraw)
        self.histogram = self._make_histogram()
        self.status = QLabel(" ")
        self.status.setObjectName("tensor_status")
        # A long summary must not widen the dock, nor relayout the window when it changes.
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.grid.hovered.connect(self.status.setText)
        self.bars.hovered.connect(self.status.setText)
        self._layout()
        self.set_step(None)
        follow_theme(self.apply_theme)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.tabs, 1)
        top.addWidget(self.pages)
        top.addWidget(self.sample)
        body = QHBoxLayout()
        body.addWidget(self.plots, 4)
        body.addWidget(self.histogram, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.status)

    def _make_histogram(self) -> HistogramView:
        histogram = HistogramView()
        histogram.setObjectName("tensor_histogram")
        return histogram

    def apply_theme(self, theme) -> None:
        """The plots in the theme's colours (the heatmaps are redrawn in them)."""
        self.histogram.apply_theme(theme)
        self.grid.apply_theme(theme)
        self.bars.apply_theme(theme)
        self.batch_images.apply_theme(theme)
        self.target_view.apply_theme(theme)
        self._redraw()

    # -- public -----------------------------------------------------------------
    def set_step(self, step: Step | None, network: Network | None = None) -> None:
        """Show the tensors of `step` (None: nothing); network adds the parameters."""
        old_phase = self.step.phase if self.step is not None else None
        other_node = step is None or self.step is None or step.node != self.step.node
        # A tab the panel chose itself (a loss's ∂L/∂ŷ) gives way at the next node;
        # one the user chose stays.
        own_choice = self.current_key() is not None and self.current_key() == self._opened
        previous = self._before_update.previous(old_phase, step and step.phase,
                                                self.current_key())
        new_phase = step is not None and old_phase not in (step.phase, "update")
        if new_phase:
            previous = None  # a new phase opens on its own tab (the gradient on backward)
        if other_node and own_choice:
            previous = None
        self.step = step
        opening = opening_tab(step) if (other_node or new_phase) and step is not None else None
        previous = opening or previous
        self.entries = tensor_entries(step, network) if step is not None else []
        if self._fill_tabs(previous) or opening is not None:
            self._opened = self.current_key()
        batch = step.output.shape[0] if step is not None and step.output.ndim else (
            step.inputs[0].shape[0] if step is not None and step.inputs else 1)
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(batch - 1, 0))
        self.sample.blockSignals(False)
        self._redraw()

    def set_summaries(self, summaries: Summaries | None) -> None:
        """The pass's summaries of its big tensors (None: none, the pass is gone)."""
        self.summaries = summaries if summaries is not None else Summaries()

    def set_sample(self, sample: int) -> None:
        self.sample.setValue(sample)

    def set_labels(self, labels: list[str] | None, names: tuple[str, ...] | None = None,
                   random: range = range(0)) -> None:  # noqa: B008 - an immutable range
        """The class label of each sample of the pass (the pictures' titles), the
        classes' names, when known, and the samples drawn at random (no data)."""
        self.labels, self.class_names, self.random_samples = labels, names, random

    def select(self, key: str) -> bool:
        """Show the entry with this key ("out", "grad_out", "grad:weight", …)."""
        keys = [entry.key for entry in self.entries]
        if key not in keys:
            return False
        self.tabs.setCurrentIndex(keys.index(key))
        return True

    def current_key(self) -> str | None:
        entry = self.current_entry()
        return entry.key if entry else None

    def current_entry(self) -> TensorEntry | None:
        index = self.tabs.currentIndex()
        return self.entries[index] if 0 <= index < len(self.entries) else None

    def heatmap_count(self) -> int:
        return len(self.grid.images) if self.plots.currentWidget() is self.grid else 0

    def shown_maps(self) -> range:
        """The indices of the maps in sight (channels, kernels) of the current tensor."""
        if self.plots.currentWidget() is not self.grid or not self.grid.images:
            return range(0)
        return range(self.pages.first, self.pages.first + self.pages.shown)

    # -- drawing ----------------------------------------------------------------
    def _fill_tabs(self, previous: str | None) -> bool:
        """The step's tabs, on `previous` when it has that tab; True when the panel
        chose the tab itself (the phase's default)."""
        labels = [entry.label for entry in self.entries]
        keys = [entry.key for entry in self.entries]
        self.tabs.blockSignals(True)
        if [self.tabs.tabToolTip(i) for i in range(self.tabs.count())] != labels:
            while self.tabs.count():
                self.tabs.removeTab(0)
            for label in labels:
                self.tabs.addTab(label)
            self._fit_tabs()
        wanted = previous if previous in keys else self._default_key(keys)
        if wanted is not None:
            self.tabs.setCurrentIndex(keys.index(wanted))
        self.tabs.blockSignals(False)
        return previous not in keys

    def _fit_tabs(self) -> None:
        """Full tab titles when they fit beside the page arrows and the sample, short
        ones when not (tab_titles.py)."""
        beside = sum(widget.sizeHint().width() + 6 for widget in (self.pages, self.sample)
                     if not widget.isHidden())
        fit_titles(self.tabs, [entry.label for entry in self.entries],
                   self.contentsRect().width() - 8 - beside)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_tabs()

    def _default_key(self, keys: list[str]) -> str | None:
        if self.step is not None and self.step.phase == "update":
            return first_key(keys)
        if self.step is not None and self.step.phase == "backward" and "grad_out" in keys:
            return "grad_out"
        return keys[0] if keys else None

    def _sample_changed(self, value: int) -> None:
        self._redraw()
        self.sample_changed.emit(value)

    def _redraw(self, *_) -> None:
        entry = self.current_entry()
        if entry is None:
            self.grid.show_nothing()
            self.plots.setCurrentWidget(self.grid)
            self.pages.set_total(0, "channel")
            self.histogram.clear()
            self.status.setText("no step yet")
            self.redrawn.emit()
            return
        sample = min(self.sample.value(), entry.array.shape[0] - 1) if entry.per_sample else 0
        if entry.kind in ("images", "target"):
            self._show_data(entry, sample)
            return
        values = entry.array[sample] if entry.per_sample else entry.array
        values = np.asarray(values)  # NOTE: no float64 copy: fc6's weights are 102 M values
        self.sample.setEnabled(entry.per_sample)
        summary = self.summaries.summary(entry.array, entry.diverging,
                                         sample if entry.per_sample else None)
        self._show(entry, values, sample, summary.levels)
        self.histogram.set_summary(summary, entry.diverging)
        self.status.setText(self._summary(entry, values, sample, summary))
        self.redrawn.emit()

    def _show_data(self, entry: TensorEntry, sample: int) -> None:
        """The batch as pictures, or the target beside ŷ (data_views)."""
        self.pages.set_total(0, "channel")
        self.sample.setEnabled(entry.per_sample)
        values = np.asarray(entry.array, dtype=float)
        if entry.kind == "images":
            self.plots.setCurrentWidget(self.batch_images)
            self.batch_images.show_batch(values, self.labels, self.random_samples)
            text = f"the batch as pictures: {shape_text(values.shape)}"
            if self.batch_images.heading:
                text = f"{self.batch_images.heading} · {text}"
        else:
            self.plots.setCurrentWidget(self.target_view)
            self.target_view.show_pair(self.step.op, np.asarray(self.step.inputs[0]),
                                       entry.array, sample, self.class_names)
            text = self.target_view.text
        self.histogram.set_values(values, False)
        self.status.setText(text)
        self.redrawn.emit()

    def _show(self, entry: TensorEntry, values: np.ndarray, sample: int,
              levels: tuple[float, float]) -> None:
        where = f"{entry.label} · sample {sample}" if entry.per_sample else entry.label
        if values.ndim <= 1:
            self.pages.set_total(0, "channel")
            self.plots.setCurrentWidget(self.bars)
            self.bars.show_bars(values, entry.diverging, title=where,
                                describe=lambda j, v: f"{where} · [{j}] = {v:.6g}")
            return
        self.plots.setCurrentWidget(self.grid)
        self.pages.set_total(map_count(values), map_noun(values))
        self._fit_page(values)
        page = maps_from(values, self.pages.first, self.pages.shown)
        titles, axes = page.titles, page.axes

        def describe(k: int, i: int, j: int, v: float) -> str:
            return f"{where} · {titles[k]} · [{axes[0]}={i}, {axes[1]}={j}] = {v:.6g}"

        pictures = [self.summaries.picture(values)] if values.ndim == 2 else None
        self.grid.show_maps(page.maps, titles, entry.diverging, describe, levels,
                            page.short_titles, pictures)

    def _fit_page(self, values: np.ndarray) -> bool:
        """A page of as many maps as the grid draws large enough to read; True when
        that changed the page. A hidden grid has no size to go by: the page stays."""
        if values.ndim < 3 or not self.grid.isVisible():
            return False
        return self.pages.set_page_size(self.grid.fitting_map_count(values.shape[-2:],
                                                                    PAGE_SIZE))

    def _grid_resized(self) -> None:
        entry = self.current_entry()
        if entry is None or self.plots.currentWidget() is not self.grid:
            return
        values = entry.array[0] if entry.per_sample else entry.array
        if self._fit_page(np.asarray(values)):
            self._redraw()

    def _map_clicked(self, index: int) -> None:
        """A map of the page alone and large; the large one back to its page."""
        if self.pages.single:
            self.pages.show_page()
        elif self.pages.total > 1:
            self.pages.show_single(self.pages.first + index)

    def _summary(self, entry: TensorEntry, values: np.ndarray, sample: int,
                 summary: Summary) -> str:
        shape = shape_text(values.shape)
        text = (f"{entry.label}: {shape}{' · sample ' + str(sample) if entry.per_sample else ''}"
                f" · min {summary.minimum:.4g} · max {summary.maximum:.4g} · "
                f"‖·‖ {summary.norm:.4g}")
        return text + self.reduction_text()

    def reduction_text(self) -> str:
        """How the maps in sight were shrunk for drawing ('' when drawn whole)."""
        grid, shown = self.grid, self.plots.currentWidget()
        if shown is self.bars and self.bars.block > 1:
            return f" · drawn as {self.bars.bars_drawn} bars, means of {self.bars.block}"
        if shown is not grid or grid.block == (1, 1):
            return ""
        rows, cols = grid.picture_shape[:2]
        return f" · drawn as {rows}×{cols} means of {grid.block[0]}×{grid.block[1]} blocks"
