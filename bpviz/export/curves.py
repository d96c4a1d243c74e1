"""Training curves: loss, accuracy and per-layer gradient norms, to PNG, SVG, PDF and CSV.

Input: metric rows, as the Trainer keeps them (`Trainer.metrics`, one row per
epoch: epoch, iteration, train_loss, train_acc, val_loss, val_acc, seconds),
as `bpviz train` writes them to metrics.csv, or as a CurveRecorder collects
them from the trainer's events: one row per iteration with its `loss` and
`grad_norm/<node>` (‖∂L/∂θ‖ of each trainable node) besides the epoch rows.

Panels, each drawn when its columns are there: loss (train_loss, val_loss,
loss), accuracy (train_acc, val_acc) and gradient norms (grad_norm/*, log
scale). The x axis is the epoch for per-epoch rows alone, the iteration
otherwise. One colour-blind-safe hue per series (Okabe–Ito).

The CSV export writes the rows back: one column per metric, in the order
first seen, empty cells where a row has no value.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen

from bpviz.export.base import Exporter, ExportError, Progress, ensure_app, png_bytes
from bpviz.export.devices import check_dpi, pdf_document, raster_image, svg_document
from bpviz.export.paint import font

SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9",
                  "#000000", "#F0E442")
PANEL_W, PANEL_H = 520.0, 360.0
LEFT, RIGHT, TOP, BOTTOM = 72.0, 20.0, 40.0, 92.0
THEMES = {"light": ("#ffffff", "#1a1a1a", "#8a8a8a", "#e6e6e6"),
          "dark": ("#1b1b1b", "#f0f0f0", "#9a9a9a", "#333333")}
LABELS = {"train_loss": "training loss", "val_loss": "validation loss", "loss": "batch loss",
          "train_acc": "training accuracy", "val_acc": "validation accuracy"}
PANELS = (("loss", ("train_loss", "val_loss", "loss"), False),
          ("accuracy", ("train_acc", "val_acc"), False),
          ("gradient norm ‖∂L/∂θ‖", (), True))


def read_metrics(path: str | os.PathLike) -> list[dict[str, float | None]]:
    """The rows of a metrics CSV (e.g. `bpviz train`'s metrics.csv): numbers, None
    for empty cells; an unreadable file or a non-number is an ExportError."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            raw = list(csv.DictReader(handle))
    except OSError as error:
        raise ExportError(f"cannot read {path}: {error.strerror or error}") from None
    except (csv.Error, UnicodeDecodeError) as error:
        raise ExportError(f"{path} is not a metrics CSV: {error}") from None
    rows = []
    for number, row in enumerate(raw, start=2):
        parsed = {}
        for key, text in row.items():
            if key is None or text is None:
                raise ExportError(f"{path}, line {number}: more cells than columns")
            try:
                parsed[key] = float(text) if text.strip() else None
            except ValueError:
                raise ExportError(f"{path}, line {number}: {key} is not a number: "
                                  f"{text!r}") from None
        rows.append(parsed)
    if not rows:
        raise ExportError(f"{path} has no rows of metrics")
    return rows


class CurveRecorder:
    """A Trainer subscriber keeping a row per iteration (loss, grad_norm/<node>)
    and one per epoch (the trainer's metrics): `trainer.subscribe(recorder)`."""

    def __init__(self) -> None:
        self.rows: list[dict[str, float | None]] = []

    def __call__(self, event) -> None:
        if event.kind == "iteration":
            row = {"iteration": event.iteration, "epoch": event.epoch, "loss": event.loss}
            row.update({f"grad_norm/{node}": stats.grad_norm
                        for node, stats in event.nodes.items()})
            self.rows.append(row)
        elif event.kind == "epoch":
            self.rows.append({"iteration": event.iteration, "epoch": event.epoch,
                              "train_loss": event.train_loss, "train_acc": event.train_acc,
                              "val_loss": event.val_loss, "val_acc": event.val_acc})


@dataclass
class Panel:
    title: str
    log: bool
    series: dict[str, list[tuple[float, float]]]


def panels_of(rows: list[dict]) -> tuple[str, list[Panel]]:
    """(x axis name, the panels that have data)."""
    columns = list(dict.fromkeys(key for row in rows for key in row))
    per_iteration = any(c == "loss" or c.startswith("grad_norm/") for c in columns)
    x_name = "epoch" if "epoch" in columns and not per_iteration else (
        "iteration" if "iteration" in columns else "row")
    panels = []
    for title, names, log in PANELS:
        wanted = [c for c in columns if c.startswith("grad_norm/")] if log else \
            [c for c in names if c in columns]
        series = {}
        for column in wanted:
            points = [(_x(row, x_name, index), float(row[column]))
                      for index, row in enumerate(rows) if _usable(row.get(column), log)]
            if points:
                series[LABELS.get(column, column.removeprefix("grad_norm/"))] = points
        if series:
            panels.append(Panel(title, log, series))
    return x_name, panels


def _x(row: dict, name: str, index: int) -> float:
    value = row.get(name)
    return float(value) if value is not None else float(index + 1)


def _usable(value, log: bool) -> bool:
    return value is not None and math.isfinite(float(value)) and (not log or float(value) > 0)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2 or 5 × 10^k apart) covering low … high."""
    if high <= low:
        high = low + 1.0
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, 12) for k in range(first, max(last, first + 1) + 1)]


class CurvesFigure:
    """The panels side by side, painted in figure pixels."""

    def __init__(self, rows: list[dict], theme: str = "light", transparent: bool = False) -> None:
        if theme not in THEMES:
            raise ExportError(f"unknown theme {theme!r} (themes: {', '.join(THEMES)})")
        self.x_name, self.panels = panels_of(rows)
        if not self.panels:
            raise ExportError("no loss, accuracy or gradient-norm columns to draw "
                              "(expected e.g. train_loss, val_acc, grad_norm/<node>)")
        self.theme, self.transparent = theme, transparent

    def size(self) -> QSizeF:
        return QSizeF(PANEL_W * len(self.panels), PANEL_H)

    def paint(self, painter: QPainter) -> None:
        background = QColor(THEMES[self.theme][0])
        if not self.transparent:
            painter.fillRect(QRectF(QPointF(0, 0), self.size()), background)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for index, panel in enumerate(self.panels):
            painter.save()
            painter.translate(index * PANEL_W, 0)
            self._panel(painter, panel)
            painter.restore()

    def _panel(self, painter: QPainter, panel: Panel) -> None:
        _, text, muted, grid = (QColor(c) for c in THEMES[self.theme])
        plot = QRectF(LEFT, TOP, PANEL_W - LEFT - RIGHT, PANEL_H - TOP - BOTTOM)
        xs = [x for points in panel.series.values() for x, _ in points]
        ys = [y for points in panel.series.values() for _, y in points]
        x_ticks = nice_ticks(min(xs), max(xs))
        y_ticks = _log_ticks(min(ys), max(ys)) if panel.log else nice_ticks(min(ys), max(ys))
        x_range, y_range = (x_ticks[0], x_ticks[-1]), (y_ticks[0], y_ticks[-1])

        def to_point(x: float, y: float) -> QPointF:
            fx = (x - x_range[0]) / ((x_range[1] - x_range[0]) or 1)
            yv, lo, hi = (math.log10(y), *map(math.log10, y_range)) if panel.log else (y, *y_range)
            return QPointF(plot.left() + fx * plot.width(),
                           plot.bottom() - (yv - lo) / ((hi - lo) or 1) * plot.height())

        painter.setFont(font(10))
        _axes(painter, plot, x_ticks, y_ticks, to_point, panel.log, (text, muted, grid))
        painter.setFont(font(12, True))
        painter.setPen(text)
        painter.drawText(QRectF(LEFT, 6, plot.width(), 26), Qt.AlignmentFlag.AlignLeft
                         | Qt.AlignmentFlag.AlignVCenter, panel.title)
        painter.setFont(font(10))
        painter.drawText(QRectF(LEFT, plot.bottom() + 22, plot.width(), 18),
                         Qt.AlignmentFlag.AlignCenter, self.x_name)
        painter.save()
        painter.setClipRect(plot.adjusted(-2, -2, 2, 2))
        # The first series on top: epoch curves over the noisy batch losses.
        for k, points in reversed(list(enumerate(panel.series.values()))):
            colour = QColor(SERIES_COLOURS[k % len(SERIES_COLOURS)])
            path = QPainterPath(to_point(*points[0]))
            for x, y in points[1:]:
                path.lineTo(to_point(x, y))
            painter.setPen(QPen(colour, 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(path)
            if len(points) == 1:
                painter.setBrush(colour)
                painter.drawEllipse(to_point(*points[0]), 3, 3)
        painter.restore()
        _legend(painter, QRectF(LEFT, plot.bottom() + 44, plot.width(), 44),
                list(panel.series), text)


def _log_ticks(low: float, high: float) -> list[float]:
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    if last == first:
        last += 1
    return [10.0 ** k for k in range(first, last + 1)]


def _axes(painter: QPainter, plot: QRectF, x_ticks, y_ticks, to_point, log: bool,
          colours) -> None:
    text, muted, grid = colours
    for y in y_ticks:
        point = to_point(x_ticks[0], y)
        painter.setPen(QPen(grid, 1.0))
        painter.drawLine(QPointF(plot.left(), point.y()), QPointF(plot.right(), point.y()))
        painter.setPen(text)
        label = f"1e{round(math.log10(y))}" if log else f"{y:g}"
        painter.drawText(QRectF(0, point.y() - 9, plot.left() - 6, 18),
                         Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
    for x in x_ticks:
        point = to_point(x, y_ticks[0])
        painter.setPen(QPen(muted, 1.0))
        painter.drawLine(QPointF(point.x(), plot.bottom()), QPointF(point.x(), plot.bottom() + 4))
        painter.setPen(text)
        painter.drawText(QRectF(point.x() - 40, plot.bottom() + 5, 80, 16),
                         Qt.AlignmentFlag.AlignCenter, f"{x:g}")
    painter.setPen(QPen(muted, 1.0))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(plot)


def _legend(painter: QPainter, rect: QRectF, names: list[str], text: QColor) -> None:
    x, y = rect.left(), rect.top()
    metrics = painter.fontMetrics()
    for k, name in enumerate(names):
        width = 26 + metrics.horizontalAdvance(name) + 16
        if x + width > rect.right() and x > rect.left():
            x, y = rect.left(), y + 18
        if y > rect.bottom() - 14:
            painter.setPen(text)
            painter.drawText(QPointF(x, y + 12), f"… {len(names) - k} more")
            return
        painter.setPen(QPen(QColor(SERIES_COLOURS[k % len(SERIES_COLOURS)]), 3.0))
        painter.drawLine(QPointF(x, y + 8), QPointF(x + 20, y + 8))
        painter.setPen(text)
        painter.drawText(QPointF(x + 26, y + 12), name)
        x += width


class CurvesExporter(Exporter):
    """The curves as `fmt`: "png" (a QImage), "svg", "pdf" (bytes) or "csv" (text)."""

    extensions = (".png", ".svg", ".pdf", ".csv")

    def __init__(self, rows: Iterable[dict], fmt: str = "png", theme: str = "light",
                 dpi: float | None = None, transparent: bool = False,
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        if fmt not in ("png", "svg", "pdf", "csv"):
            raise ExportError(f"curves export to png, svg, pdf or csv, not {fmt!r}")
        self.rows = [dict(row) for row in rows]
        if not self.rows:
            raise ExportError("there are no metrics to draw yet")
        self.fmt, self.dpi = fmt, None if dpi is None else check_dpi(dpi)
        if fmt != "csv":
            ensure_app()
            self.figure = CurvesFigure(self.rows, theme, transparent)

    def data(self):
        if self.fmt == "csv":
            return _csv_text(self.rows)
        figure = self.figure
        if self.fmt == "png":
            return raster_image(figure.size(), figure.paint, self.dpi)
        if self.fmt == "svg":
            return svg_document(figure.size(), figure.paint, "bpviz training curves")
        return pdf_document(figure.size(), figure.paint, "bpviz training curves")

    def encode(self, data) -> bytes:
        if self.fmt == "png":
            return png_bytes(data)
        return data.encode("utf-8") if isinstance(data, str) else data


def _csv_text(rows: list[dict]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row[key] for key in columns})
    return text.getvalue()
