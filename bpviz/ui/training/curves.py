"""Live training plots: loss, accuracy, per-layer gradient norms, decision boundary.

Every plot's x axis is the iteration (optimizer steps), so the four line up.
Curves keep their data in growing NumPy buffers and are redrawn with
`setData` once per panel update (clipped to the view and down-sampled by
pyqtgraph when long). Colours follow the theme; the two data colours are the
Okabe–Ito blue (training) and vermillion (validation).
"""

from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from bpviz.scene.theme import Theme, current_theme, theme_manager
from bpviz.ui.training.axes import LogAxis, tick_font
from bpviz.ui.training.plot_fit import MIN_HEIGHT, axis_room, minimum_width, wrap_legend

# Okabe–Ito colours by role; the dark theme takes the lighter ones.
ROLE_COLOURS = {"light": {"train": "#0072B2", "val": "#D55E00"},
                "dark": {"train": "#56B4E9", "val": "#E69F00"}}
GRAD_MAP = "plasma"
GRAD_MAP_RANGE = {"light": (0.0, 0.85), "dark": (0.25, 1.0)}  # off the background's end
MAX_SYMBOLS = 60  # epoch markers up to this many points
SMOOTHING = 10  # iterations in the gradient norms' running mean
BATCH_POINTS = 20000  # batch losses kept (thinned beyond)
GRAD_POINTS = 800  # points kept and drawn per gradient curve (thinned beyond)
MIN_REDRAW_S = 0.033  # gradient curves are redrawn at most ~30 times a second,
REDRAW_S_PER_CURVE = 0.005  # and less often the more curves there are
LEGEND_MOST = 6  # legend entries for ramp-coloured gradient curves
ABOVE = "above"  # a legend between the title and the view
RIGHT_MARGIN = 10  # px
EMPTY_DECADES = (-4, 1)  # an empty log plot shows 1e-4 … 10
DISTINCT = {"light": ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                      "#000000"),
            "dark": ("#56B4E9", "#E69F00", "#009E73", "#CC79A7", "#F0E442", "#D55E00",
                     "#FFFFFF")}


class Series:
    """A growing float array: append in chunks, read the filled part."""

    def __init__(self) -> None:
        self._data = np.empty(256)
        self.size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, dtype=np.float64)
        need = self.size + len(values)
        if need > len(self._data):
            grown = np.empty(max(need, 2 * len(self._data)))
            grown[:self.size] = self._data[:self.size]
            self._data = grown
        self._data[self.size:need] = values
        self.size = need

    @property
    def values(self) -> np.ndarray:
        return self._data[:self.size]

    def thin(self) -> None:
        """Keep every other value."""
        kept = self.values[::2].copy()
        self._data[:len(kept)] = kept
        self.size = len(kept)

    def clear(self) -> None:
        self.size = 0


class Trace:
    """(x, y) points that thin themselves on long runs: past `cap` points every other
    one goes, and from then on only every stride-th new one is kept (memory and redraw
    time stay bounded). `seen` counts every point given."""

    def __init__(self, cap: int | None = None) -> None:
        self.x, self.y = Series(), Series()
        self.cap, self.stride, self.seen = cap, 1, 0

    def extend(self, xs, ys) -> None:
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        keep = (self.seen + np.arange(len(xs))) % self.stride == 0
        self.seen += len(xs)
        self.x.extend(xs[keep])
        self.y.extend(ys[keep])
        if self.cap is not None and self.x.size > self.cap:
            self.x.thin()
            self.y.thin()
            self.stride *= 2

    def clear(self) -> None:
        self.x.clear()
        self.y.clear()
        self.stride, self.seen = 1, 0


class TrainingPlot(pg.PlotWidget):
    """A themed plot with a title, axis labels and a legend."""

    def __init__(self, title: str, y_label: str, parent=None, legend_at=(-4, 4),
                 log_y: bool = False) -> None:
        axes = {"left": LogAxis("left")} if log_y else {}
        super().__init__(parent, axisItems=axes)
        self.title_text, self.y_label = title, y_label
        self.legend_above = legend_at == ABOVE
        item = self.getPlotItem()
        item.setLogMode(y=log_y)
        item.setLabel("bottom", "iteration")
        item.setLabel("left", y_label)
        self.legend = self._add_legend(legend_at)
        item.setContentsMargins(0, 0, RIGHT_MARGIN, 0)  # the right end is never flush
        self.apply_theme(current_theme())
        theme_manager().changed.connect(self.apply_theme)

    def _add_legend(self, legend_at) -> pg.LegendItem:
        """In the view at offset `legend_at` ((x, y): negative from the right or bottom
        edge), or ABOVE it, in one row between the title and the data."""
        item = self.getPlotItem()
        text_size = f"{tick_font().pointSizeF():g}pt"
        if legend_at != ABOVE:
            return item.addLegend(offset=legend_at, labelTextSize=text_size)
        legend = pg.LegendItem(offset=None, colCount=8, labelTextSize=text_size,
                               verSpacing=-6)
        item.legend = legend  # curves made from now on join it
        item.layout.removeItem(item.getAxis("top"))  # hidden, and its cell is the place
        item.layout.addItem(legend, 1, 1)
        item.layout.setAlignment(legend, Qt.AlignmentFlag.AlignHCenter)
        return legend

    def apply_theme(self, theme: Theme) -> None:
        self.setBackground(theme.base)
        item = self.getPlotItem()
        size = tick_font().pointSizeF() + 1
        item.setTitle(self.title_text, color=theme.text, size=f"{size:g}pt")
        self.fit_width()
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(theme.muted))
            axis.setTextPen(pg.mkPen(theme.text))
            axis.setTickFont(tick_font())
            axis.enableAutoSIPrefix(False)
            axis.label.setDefaultTextColor(QColor(theme.text))
        self.legend.setLabelTextColor(theme.text)
        for _sample, label in self.legend.items:
            label.setText(label.text, color=theme.text)
        backing = QColor(theme.base)
        backing.setAlpha(200)  # curves behind the legend still show
        self.legend.setBrush(pg.mkBrush(backing))
        self.restyle(theme)

    def restyle(self, theme: Theme) -> None:
        """Give the curves the theme's colours (subclasses)."""

    def fit_width(self) -> None:
        """A minimum width at which the title and a legend above the view do not clip."""
        legend = self.legend if self.legend_above else None
        self.setMinimumSize(minimum_width(self.getPlotItem(), legend, tick_font(),
                                          RIGHT_MARGIN), MIN_HEIGHT)
        self._wrap_legend()

    def _wrap_legend(self) -> None:
        if getattr(self, "legend_above", False):  # not yet while PlotWidget is made
            wrap_legend(self.legend, self.width() - axis_room(tick_font()) - RIGHT_MARGIN)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._wrap_legend()

    def curve(self, name: str | None, symbol: str | None = None) -> pg.PlotDataItem:
        """A curve; one without symbols is clipped to the view and down-sampled when long."""
        item = self.plot([], [], name=name, symbol=symbol, symbolSize=6)
        if not symbol:
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
        return item


def paint_curve(item: pg.PlotDataItem, colour: QColor, width: float = 2.0,
                style=Qt.PenStyle.SolidLine) -> None:
    item.setPen(pg.mkPen(colour, width=width, style=style))
    item.setSymbolBrush(pg.mkBrush(colour))
    item.setSymbolPen(pg.mkPen(colour))


def role_colour(role: str, theme: Theme, alpha: int = 255) -> QColor:
    colour = QColor(ROLE_COLOURS[palette_name(theme)][role])
    colour.setAlpha(alpha)
    return colour


class SeriesPlot(TrainingPlot):
    """Named curves, each with its growing (x, y) data."""

    def __init__(self, title: str, y_label: str, parent=None, **options) -> None:
        super().__init__(title, y_label, parent, **options)
        self.items: dict[str, pg.PlotDataItem] = {}
        self.data: dict[str, Trace] = {}
        self.symbols: dict[str, str | None] = {}
        self.styles: dict[str, dict] = {}

    def add_curve(self, key: str, name: str | None, role: str, symbol: str | None = None,
                  cap: int | None = None, **style) -> None:
        """cap: see Trace; style: alpha (0–255), width, style (a Qt.PenStyle)."""
        self.items[key] = self.curve(name, symbol)
        self.data[key] = Trace(cap)
        self.symbols[key] = symbol
        self.styles[key] = {"role": role, **style}
        self.restyle(current_theme())
        self.fit_width()

    def restyle(self, theme: Theme) -> None:
        for key, spec in getattr(self, "styles", {}).items():
            spec = dict(spec)
            colour = role_colour(spec.pop("role"), theme, spec.pop("alpha", 255))
            paint_curve(self.items[key], colour, **spec)

    def extend(self, key: str, xs, ys) -> None:
        if len(xs):
            trace = self.data[key]
            trace.extend(xs, ys)
            item = self.items[key]
            if self.symbols[key] and trace.x.size > MAX_SYMBOLS:
                item.setSymbol(None)  # a dense row of markers only hides the line
            item.setData(trace.x.values, trace.y.values, connect="finite")

    def clear_data(self) -> None:
        for key, trace in self.data.items():
            trace.clear()
            self.items[key].setSymbol(self.symbols[key])
            self.items[key].setData([], [])
        item = self.getPlotItem()
        item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)  # not the last run's
        item.enableAutoRange(enable=True)


class LossPlot(SeriesPlot):
    """Every batch's loss (thin), and the epoch means on training and validation data."""

    def __init__(self, parent=None) -> None:
        super().__init__("Loss", "loss", parent, legend_at=ABOVE)  # the curves fill the view
        self.add_curve("batch", "batch", "train", cap=BATCH_POINTS, alpha=100, width=1)
        self.add_curve("train", "train (epoch)", "train", symbol="o")
        self.add_curve("val", "validation", "val", symbol="t", style=Qt.PenStyle.DashLine)

    def add_batches(self, iterations, losses) -> None:
        self.extend("batch", iterations, losses)

    def add_epochs(self, events) -> None:
        self.extend("train", [e.iteration for e in events], [e.train_loss for e in events])
        val = [e for e in events if e.val_loss is not None]
        self.extend("val", [e.iteration for e in val], [e.val_loss for e in val])


class AccuracyPlot(SeriesPlot):
    """Accuracy in percent after every epoch, on training and validation data."""

    def __init__(self, parent=None) -> None:
        super().__init__("Accuracy", "accuracy (%)", parent, legend_at=(-4, -4))
        self.add_curve("train", "train", "train", symbol="o")
        self.add_curve("val", "validation", "val", symbol="t", style=Qt.PenStyle.DashLine)
        self.fix_y()

    def fix_y(self) -> None:
        self.getPlotItem().setYRange(-4, 104, padding=0)  # ticks every 20 %
        self.getPlotItem().enableAutoRange(axis="y", enable=False)
        self.show_span(1)

    def show_span(self, end: float) -> None:
        """Iterations 0 … end while there are fewer than two epochs to range on (one
        point alone would get an axis around itself, −400 … 400)."""
        if self.data["train"].x.size + self.data["val"].x.size > 2:
            self.getPlotItem().enableAutoRange(axis="x", enable=True)
        else:
            self.getPlotItem().setXRange(0, max(end, 1), padding=0.02)

    def clear_data(self) -> None:
        super().clear_data()
        self.fix_y()

    def add_epochs(self, events) -> None:
        train = [e for e in events if e.train_acc is not None]
        self.extend("train", [e.iteration for e in train], [100 * e.train_acc for e in train])
        val = [e for e in events if e.val_acc is not None]
        self.extend("val", [e.iteration for e in val], [100 * e.val_acc for e in val])


def palette_name(theme: Theme) -> str:
    """Which of the light and dark data colours suit `theme`'s background."""
    if theme.name in DISTINCT:
        return theme.name
    return "dark" if QColor(theme.base).lightnessF() < 0.5 else "light"


def grad_colours(count: int, theme: Theme) -> list[str]:
    """Distinct colours for a few nodes; a plasma ramp from input to output for many."""
    name = palette_name(theme)
    if count <= len(DISTINCT[name]):
        return list(DISTINCT[name][:count])
    cmap = pg.colormap.get(GRAD_MAP)
    low, high = GRAD_MAP_RANGE[name]
    return [cmap.map(low + (high - low) * i / (count - 1), mode="qcolor").name()
            for i in range(count)]


def legend_picks(count: int, most: int = LEGEND_MOST) -> set[int]:
    """Which of `count` ramp-coloured curves get a legend entry: all, or evenly spaced
    ones from the first to the last."""
    if count <= most:
        return set(range(count))
    return {int(i) for i in np.round(np.linspace(0, count - 1, most))}


def log_average(values: np.ndarray, state: float | None, weight: float
                ) -> tuple[np.ndarray, float | None]:
    """A running mean of log10(values) (a geometric mean), carried on from `state`.

    Zeros and non-finite values leave the mean as it was and give a gap."""
    out = np.full(len(values), np.nan)
    for i, value in enumerate(values):
        if value > 0 and np.isfinite(value):
            log = float(np.log10(value))
            state = log if state is None else state + weight * (log - state)
            out[i] = 10.0 ** state
    return out, state


class GradNormPlot(TrainingPlot):
    """‖∂L/∂θ‖ of every trainable node, log scale, one curve each: a running geometric
    mean over about SMOOTHING iterations (the raw values are in `norms`)."""

    def __init__(self, parent=None) -> None:
        super().__init__("Gradient norm per layer ‖∂L/∂θ‖",
                         f"{SMOOTHING}-iteration mean (log)", parent, log_y=True)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.smooth: dict[str, Trace] = {}
        self.last: dict[str, float] = {}  # the newest raw norm of each node
        self._state: dict[str, float | None] = {}
        self._drawn_at = 0.0
        self.show_empty()

    def show_empty(self) -> None:
        """No curves: a clean view over whole decades and iterations 0 … 1."""
        item = self.getPlotItem()
        item.setRange(xRange=(0, 1), yRange=EMPTY_DECADES, padding=0)
        item.enableAutoRange(enable=True)  # from the first points on

    def set_nodes(self, nodes) -> None:
        """Start over with one curve per node (in order: input side first)."""
        self.clear_data()
        picks = legend_picks(len(nodes))
        for i, node in enumerate(nodes):
            self.curves[node] = self.curve(node if i in picks else None)
            self.smooth[node], self._state[node] = Trace(GRAD_POINTS), None
        self.restyle(current_theme())

    def restyle(self, theme: Theme) -> None:
        curves = getattr(self, "curves", {})
        for curve, colour in zip(curves.values(), grad_colours(len(curves), theme)):
            paint_curve(curve, QColor(colour), width=1)

    def add(self, iterations, norms: dict[str, list[float]]) -> None:
        if not len(iterations):
            return
        # NOTE: the running mean is smooth, so thinning it (Trace) keeps the picture
        # while a deep net's dozens of curves stay cheap to redraw.
        for node in self.curves:
            values = np.asarray(norms.get(node, [np.nan] * len(iterations)), dtype=np.float64)
            self.last[node] = float(values[-1])
            smooth, self._state[node] = log_average(values, self._state[node], 1 / SMOOTHING)
            self.smooth[node].extend(iterations, smooth)
        # NOTE: a deep net has dozens of curves and each setData repaints: redraw at
        # a rate that falls with the curve count so the UI thread never stalls.
        interval = max(MIN_REDRAW_S, REDRAW_S_PER_CURVE * len(self.curves))
        if time.monotonic() - self._drawn_at >= interval:
            self.redraw()

    def redraw(self) -> None:
        """Hand every curve its newest points (also called when a run ends)."""
        self._drawn_at = time.monotonic()
        for node, curve in self.curves.items():
            trace = self.smooth[node]
            curve.setData(trace.x.values, trace.y.values, connect="finite")

    def clear_data(self) -> None:
        for curve in self.curves.values():
            self.getPlotItem().removeItem(curve)
        self.legend.clear()
        self.curves, self.smooth, self.last, self._state = {}, {}, {}, {}
        self.show_empty()
