"""The tensors of one step: its output, ∂L/∂out, the gradients it produces, its parameters.

`tensor_entries(step, network)` lists them (no Qt); TensorView shows one at a
time, chosen with a tab bar, for one sample of the batch (a spin box):
feature maps as a grid of per-channel heatmaps, matrices as one heatmap,
vectors as bars, with a colour bar, a histogram and the value under the mouse.
Gradients and parameters use a diverging colour map centred on zero,
activations a sequential one. Stepping to a step whose tensor has the same
shape reuses every plot item. The plots follow the app's theme.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QTabBar,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine.executor import Network, Step
from bpviz.engine.formulas import BATCHNORM_PARAMS, PARAM_SYMBOLS, SYMBOLS, dims
from bpviz.export.colours import levels as levels_for
from bpviz.ui.stepping.heatmaps import HeatmapGrid
from bpviz.ui.stepping.histogram import HistogramView
from bpviz.ui.stepping.plot_theme import follow_theme

MAX_MAPS = 64


@dataclass(frozen=True)
class TensorEntry:
    key: str  # stable across steps: "out", "grad_out", "grad_in:0", "grad:weight", ...
    label: str  # in the lecture's symbols: "∂J/∂Z"
    array: np.ndarray
    per_sample: bool  # the first axis is the batch
    kind: str  # "activation", "gradient" or "parameter"

    @property
    def diverging(self) -> bool:
        return self.kind != "activation"


def tensor_entries(step: Step, network: Network | None = None) -> list[TensorEntry]:
    x, y, loss = SYMBOLS.get(step.op, ("x", "y", "L"))
    count = len(step.inputs)
    inputs = [f"{x}_{k + 1}" if count > 1 else x for k in range(count)]
    params = BATCHNORM_PARAMS if step.op == "batchnorm" else PARAM_SYMBOLS
    batched = step.output.ndim > 0
    entries = [TensorEntry("out", f"out {y}", step.output, batched, "activation")]
    if step.grad_output is not None:
        entries.append(TensorEntry("grad_out", f"∂{loss}/∂{y}", step.grad_output, batched,
                                   "gradient"))
    for k, grad in enumerate(step.grad_inputs):
        if grad is not None:
            entries.append(TensorEntry(f"grad_in:{k}", f"∂{loss}/∂{inputs[k]}", grad, True,
                                       "gradient"))
    for name, grad in step.grad_params.items():
        entries.append(TensorEntry(f"grad:{name}", f"∂{loss}/∂{params.get(name, name)}", grad,
                                   False, "gradient"))
    if network is not None and step.node in network.nodes:
        for name, value in network.nodes[step.node].op.params.items():
            entries.append(TensorEntry(f"param:{name}", params.get(name, name), value, False,
                                       "parameter"))
    for k, value in enumerate(step.inputs):
        entries.append(TensorEntry(f"in:{k}", f"in {inputs[k]}", value, True, "activation"))
    return entries


class TensorView(QWidget):
    sample_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: Step | None = None
        self.entries: list[TensorEntry] = []
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
        self.histogram = self._make_histogram()
        self.status = QLabel(" ")
        self.status.setObjectName("tensor_status")
        self.grid.hovered.connect(self.status.setText)
        self._layout()
        self.set_step(None)
        follow_theme(self.apply_theme)

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.tabs, 1)
        top.addWidget(self.sample)
        body = QHBoxLayout()
        body.addWidget(self.grid, 4)
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
        self._redraw()

    # -- public -----------------------------------------------------------------
    def set_step(self, step: Step | None, network: Network | None = None) -> None:
        """Show the tensors of `step` (None: nothing); network adds the parameters."""
        self.step = step
        previous = self.current_key()
        self.entries = tensor_entries(step, network) if step is not None else []
        self._fill_tabs(previous)
        batch = step.output.shape[0] if step is not None and step.output.ndim else (
            step.inputs[0].shape[0] if step is not None and step.inputs else 1)
        self.sample.blockSignals(True)
        self.sample.setRange(0, max(batch - 1, 0))
        self.sample.blockSignals(False)
        self._redraw()

    def set_sample(self, sample: int) -> None:
        self.sample.setValue(sample)

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
        return len(self.grid.images)

    # -- drawing ----------------------------------------------------------------
    def _fill_tabs(self, previous: str | None) -> None:
        labels = [entry.label for entry in self.entries]
        keys = [entry.key for entry in self.entries]
        self.tabs.blockSignals(True)
        if [self.tabs.tabText(i) for i in range(self.tabs.count())] != labels:
            while self.tabs.count():
                self.tabs.removeTab(0)
            for label in labels:
                self.tabs.addTab(label)
        wanted = previous if previous in keys else self._default_key(keys)
        if wanted is not None:
            self.tabs.setCurrentIndex(keys.index(wanted))
        self.tabs.blockSignals(False)

    def _default_key(self, keys: list[str]) -> str | None:
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
            self.histogram.clear()
            self.status.setText("no step yet")
            return
        sample = min(self.sample.value(), entry.array.shape[0] - 1) if entry.per_sample else 0
        values = entry.array[sample] if entry.per_sample else entry.array
        values = np.asarray(values, dtype=float)
        self.sample.setEnabled(entry.per_sample)
        self._show(entry, values, sample)
        self.histogram.set_values(values, levels_for(values, entry.diverging), entry.diverging)
        self.status.setText(self._summary(entry, values, sample))

    def _show(self, entry: TensorEntry, values: np.ndarray, sample: int) -> None:
        where = f"{entry.label} · sample {sample}" if entry.per_sample else entry.label
        if values.ndim <= 1:
            self.grid.show_bars(values, entry.diverging, title=where,
                                describe=lambda _k, _i, j, v: f"{where} · [{j}] = {v:.6g}")
            return
        maps, titles, axes = split_maps(values)

        def describe(k: int, i: int, j: int, v: float) -> str:
            return f"{where} · {titles[k]} · [{axes[0]}={i}, {axes[1]}={j}] = {v:.6g}"

        self.grid.show_maps(maps, titles, entry.diverging, describe)

    def _summary(self, entry: TensorEntry, values: np.ndarray, sample: int) -> str:
        shape = dims(values.shape) if values.ndim else "a single number"
        shown = ""
        if values.ndim >= 3 and len(split_maps(values)[0]) < _map_count(values):
            shown = f" · first {MAX_MAPS} maps shown"
        return (f"{entry.label}: {shape}{' · sample ' + str(sample) if entry.per_sample else ''}"
                f" · min {values.min():.4g} · max {values.max():.4g} · "
                f"‖·‖ {np.linalg.norm(values):.4g}{shown}")


def _map_count(values: np.ndarray) -> int:
    return int(np.prod(values.shape[:-2]))


def split_maps(values: np.ndarray) -> tuple[list[np.ndarray], list[str], tuple[str, str]]:
    """2-D maps with titles and the names of their row/column axes.

    [C, H, W] feature maps → one map per channel; [m, n, kh, kw] conv weights →
    one k1×k2 kernel per (m, n); a matrix → itself. At most MAX_MAPS maps.
    """
    if values.ndim == 2:
        return [values], [dims(values.shape)], ("row", "col")
    if values.ndim == 3:
        count = min(values.shape[0], MAX_MAPS)
        return ([values[c] for c in range(count)], [f"channel {c}" for c in range(count)],
                ("i1", "i2"))
    flat = values.reshape(-1, *values.shape[-2:])[:MAX_MAPS]
    lead = values.shape[:-2]
    titles = []
    for k in range(len(flat)):
        index = np.unravel_index(k, lead)
        titles.append(f"m={index[0]} n={index[1]}" if len(lead) == 2 else
                      ",".join(map(str, index)))
    return list(flat), titles, ("k1", "k2")
