"""File > Export: a dialog with a preview, size and DPI, theme, and a progress bar.

ExportDialog(document, session=None, metrics=None) offers what bpviz.export
can make from what it is given: the graph (SVG, PDF, PNG, TikZ), the graph at
a step of `session` (a StepSession), the whole pass as a GIF or PNG frames,
the pass's tensors (.npz, CSV, heatmaps) and, with `metrics` (metric rows,
e.g. a Trainer's or a CurveRecorder's), the training curves.

The preview is the picture itself at a small DPI; the size line gives the
output's size in pixels and inches. `export_to(path)` writes without asking
(tests and scripts); the Export… button asks for the path first. Animations
report progress frame by frame, and Cancel stops them with nothing written
(frames are painted from the canvas, so between frames the dialog handles
its events rather than running in another thread).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from bpviz.graph import GraphDocument

PREVIEW_DPI = 48
# kind → (label, file filter or None for a folder, needs a session, needs metrics)
KINDS = {
    "svg": ("Graph as SVG", "SVG (*.svg)", False, False),
    "pdf": ("Graph as PDF", "PDF (*.pdf)", False, False),
    "png": ("Graph as PNG", "PNG (*.png)", False, False),
    "tex": ("Graph as TikZ (.tex)", "LaTeX (*.tex)", False, False),
    "gif": ("Forward and backward pass as GIF", "GIF (*.gif)", True, False),
    "frames": ("Forward and backward pass as PNG frames", None, True, False),
    "npz": ("Tensors of the pass (.npz)", "NumPy (*.npz)", True, False),
    "csv": ("Tensors of the pass (CSV)", "CSV (*.csv)", True, False),
    "heatmaps": ("Tensors as heatmaps (PNG per tensor)", None, True, False),
    "curves_png": ("Training curves as PNG", "PNG (*.png)", False, True),
    "curves_svg": ("Training curves as SVG", "SVG (*.svg)", False, True),
    "curves_csv": ("Training curves as CSV", "CSV (*.csv)", False, True),
}
PICTURES = {"svg", "pdf", "png", "gif", "frames", "curves_png", "curves_svg"}
STEPPED = {"svg", "pdf", "png"}
RASTER = {"png", "gif", "frames", "heatmaps", "curves_png"}


class ExportDialog(QDialog):
    exported = Signal(str)  # the path written

    def __init__(self, document: GraphDocument, session=None, metrics=None,
                 parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.document, self.session, self.metrics = document, session, metrics
        self._exporter = None
        self._preview_image: QImage | None = None
        self.kind = QComboBox()
        for key, (label, _, needs_session, needs_metrics) in KINDS.items():
            if (session is not None or not needs_session) and (metrics or not needs_metrics):
                self.kind.addItem(label, key)
        self.step = QSpinBox()
        self.dpi = QDoubleSpinBox()
        self.theme = QComboBox()
        self.transparent = QCheckBox("Transparent background")
        self.size_label, self.preview, self.status = QLabel(), QLabel(), QLabel()
        self.progress = QProgressBar()
        self.export_button, self.cancel_button = QPushButton("Export…"), QPushButton("Cancel")
        self._build()
        self._connect()
        self.refresh()

    # -- building -----------------------------------------------------------
    def _build(self) -> None:
        if self.session is not None:
            self.step.setRange(0, len(self.session.steps))
            self.step.setValue(self.session.position + 1)
            self.step.setSpecialValueText("no step (the plain graph)")
            self.step.setPrefix("step ")
            self.step.setSuffix(f" of {len(self.session.steps)}")
        self.dpi.setRange(10, 2400)
        self.dpi.setDecimals(0)
        self.dpi.setValue(150)
        self.dpi.setSuffix(" dpi")
        self.theme.addItem("Light (print)", "light")
        self.theme.addItem("Dark", "dark")
        form = QFormLayout()
        form.addRow("Export", self.kind)
        form.addRow("Step", self.step)
        form.addRow("Resolution", self.dpi)
        form.addRow("Theme", self.theme)
        form.addRow("", self.transparent)
        form.addRow("Size", self.size_label)
        self.preview.setMinimumSize(480, 200)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setStyleSheet("QLabel { background: #808080; }")
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addStretch()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addLayout(form)
        top.addWidget(self.preview, 1)
        layout.addLayout(top, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        for signal in (self.kind.currentIndexChanged, self.step.valueChanged,
                       self.dpi.valueChanged, self.theme.currentIndexChanged,
                       self.transparent.toggled):
            signal.connect(self.refresh)
        self.export_button.clicked.connect(self.choose_and_export)
        self.cancel_button.clicked.connect(self.cancel)

    # -- choices ------------------------------------------------------------
    @property
    def current_kind(self) -> str:
        return self.kind.currentData()

    def set_kind(self, kind: str) -> None:
        index = self.kind.findData(kind)
        if index < 0:
            raise ValueError(f"{kind!r} cannot be exported from what this dialog was given")
        self.kind.setCurrentIndex(index)

    def refresh(self) -> None:
        """Enable the choices that apply, and redraw the preview and the size line."""
        kind = self.current_kind
        self.step.setEnabled(self.session is not None and kind in STEPPED)
        self.dpi.setEnabled(kind in RASTER)
        self.theme.setEnabled(kind in PICTURES or kind == "heatmaps")
        self.transparent.setEnabled(kind in {"svg", "pdf", "png", "frames", "curves_png",
                                             "curves_svg"})
        self.status.setText("")
        try:
            self._show_preview(kind)
        except Exception as error:  # a preview must never break the dialog
            self.preview.setText(f"no preview: {error}")
            self.size_label.setText("")

    def _show_preview(self, kind: str) -> None:
        from bpviz.export.devices import base_dpi

        if kind not in PICTURES:
            self._preview_image = None
            self.preview.setPixmap(QPixmap())
            self.preview.setText(self._summary(kind))
            self.size_label.setText("")
            return
        exporter = self.make_exporter(kind, preview=True)
        image = exporter.export() if kind not in ("gif", "frames") else None
        if image is None:  # an animation: preview its current frame only
            image = self._frame_preview()
        scale = (self.dpi.value() if kind in RASTER else base_dpi()) / PREVIEW_DPI
        width, height = round(image.width() * scale), round(image.height() * scale)
        inches = f"{width / self.dpi.value():.1f} × {height / self.dpi.value():.1f} in" \
            if kind in RASTER else f"{width / base_dpi():.1f} × {height / base_dpi():.1f} in"
        self.size_label.setText(f"{width} × {height} px ({inches})")
        self._preview_image = image
        self._fit_preview()

    def _fit_preview(self) -> None:
        if self._preview_image is not None:
            self.preview.setPixmap(QPixmap.fromImage(self._preview_image).scaled(
                self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_preview()

    def _frame_preview(self) -> QImage:
        from bpviz.export.graph import PngExporter

        steps = len(self.session.steps)
        position = self.session.position if self.session.position >= 0 else steps - 1
        return PngExporter(self.document, dpi=PREVIEW_DPI, theme=self.theme.currentData(),
                           session=self.session, position=position, caption=True).export()

    def _summary(self, kind: str) -> str:
        if kind == "tex":
            return f"A TikZ picture of {len(self.document.nodes)} nodes (compile with pdflatex)"
        if kind in ("npz", "csv", "heatmaps"):
            from bpviz.export.tensors import collect_tensors

            tensors = collect_tensors(self.session)
            values = sum(t.size for t in tensors.values())
            return f"{len(tensors)} tensors, {values:,} values"
        return f"{len(self.metrics)} rows of metrics"

    def make_exporter(self, kind: str | None = None, preview: bool = False):
        """The exporter for the current choices (at a small DPI for the preview)."""
        kind = kind or self.current_kind
        dpi = PREVIEW_DPI if preview else self.dpi.value()
        theme, transparent = self.theme.currentData(), self.transparent.isChecked()
        if kind.startswith("curves_"):
            from bpviz.export.curves import CurvesExporter

            fmt = "png" if preview else kind.split("_")[1]
            return CurvesExporter(self.metrics, fmt, theme=theme,
                                  dpi=dpi if preview or kind == "curves_png" else None,
                                  transparent=transparent)
        if kind in STEPPED:
            from bpviz.export import graph

            step = self.step.value() if self.session is not None else 0
            options = dict(theme=theme, transparent=transparent,
                           session=self.session if step else None,
                           position=step - 1 if step else None)
            if kind == "png" or preview:
                return graph.PngExporter(self.document, dpi=dpi, **options)
            return {"svg": graph.SvgExporter, "pdf": graph.PdfExporter}[kind](self.document,
                                                                              **options)
        return self._pass_exporter(kind, dpi, theme, transparent)

    def _pass_exporter(self, kind: str, dpi: float, theme: str, transparent: bool):
        from bpviz.export import animation, tensors
        from bpviz.export.devices import base_dpi
        from bpviz.export.heatmaps import HeatmapExporter
        from bpviz.export.tikz import TikzExporter

        if kind == "tex":
            return TikzExporter(self.document)
        if kind == "gif":
            return animation.GifExporter(self.document, self.session, theme=theme, dpi=dpi)
        if kind == "frames":
            return animation.FramesExporter(self.document, self.session, theme=theme, dpi=dpi,
                                            transparent=transparent)
        if kind == "heatmaps":
            return HeatmapExporter(self.session, theme=theme, scale=dpi / base_dpi())
        return {"npz": tensors.NpzExporter, "csv": tensors.CsvExporter}[kind](self.session)

    # -- exporting ----------------------------------------------------------
    def choose_and_export(self) -> None:
        label, file_filter, *_ = KINDS[self.current_kind]
        if file_filter is None:
            path = QFileDialog.getExistingDirectory(self, label)
        else:
            path, _ = QFileDialog.getSaveFileName(self, label, "", file_filter)
        if path:
            self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        """Write the current choice to `path`; False (and a message) when it fails
        or is cancelled."""
        from bpviz.export.base import ExportCancelled, ExportError

        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.export_button.setEnabled(False)
        try:
            self._exporter = self.make_exporter()
            self._exporter.progress = self._on_progress
            written = self._exporter.export(path)
        except ExportCancelled:
            self.status.setText("Cancelled: nothing was written.")
            return False
        except (ExportError, OSError) as error:
            self.status.setText(f"Could not export: {error}")
            return False
        finally:
            self._exporter = None
            self.cancel_button.setEnabled(False)
            self.export_button.setEnabled(True)
            self.progress.setVisible(False)
        self.status.setText(f"Wrote {written}")
        self.exported.emit(str(written))
        return True

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setMaximum(max(total, 1))
        self.progress.setValue(done)
        QApplication.processEvents()  # repaint, and let Cancel be clicked

    def cancel(self) -> None:
        if self._exporter is not None:
            self._exporter.cancel()
