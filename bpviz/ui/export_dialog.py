"""File > Export: a dialog with a preview, size and DPI, theme, and a progress bar.

ExportDialog(document, session=None, metrics=None) offers what bpviz.export
can make from what it is given: the graph (SVG, PDF, PNG, TikZ), the graph at
a step of `session` (a StepSession), the whole pass as a GIF or PNG frames,
the pass's tensors (.npz, CSV, heatmaps) and, with `metrics` (metric rows,
e.g. a Trainer's or a CurveRecorder's), the training curves.

The preview is the picture itself at a small DPI (bpviz.ui.export_preview: a few tens of
ms); the size line gives the output's size in pixels and inches. Layout
places the graph's nodes (bpviz.export.slide): automatically (as on the
canvas unless that picture is over 3:1 wide), as on the canvas, or wrapped
into rows that fit a 16:9 or 4:3 slide; the document itself is not moved.

Exporting runs in a process of its own (bpviz.ui.process_job, the job is
bpviz.ui.export_job.run_export), every kind the same way: the frames of an
animation are painted from a QGraphicsScene, which only the GUI thread of a
process may use, and a GIF is then encoded in one piece (deep_residual_20's
124 steps at 150 dpi: 30–75 s, most of it encoding). Single pictures are
quicker but not quick enough for the UI thread either (measured on the
examples: graph SVG up to 0.2 s, PNG up to 0.37 s, tensor heatmaps 2 s, CSV
0.24 s); the process costs about half a second to start, which one path for
everything is worth.

`export_to(path)` starts writing without asking (tests and scripts); the
Export… button asks for the path first, offering "<stem>.<ext>" in `folder`
(the window gives the graph's folder, or the user's for a bundled example).
Kinds that need a pass or metrics the dialog was not given are listed greyed,
their tooltip saying how to get them. A GIF's resolution starts low enough
for frames at most GIF_MAX_WIDTH px wide, until the user sets it. The progress
bar follows the job, Cancel (shown only then) stops it with nothing written
(killed if it has not stopped within KILL_SECONDS), and the status line tells
how it ended; `export_finished(ok)` follows, and `exported(path)` after a
success. Closing the dialog (Close,
Esc), or its deletion, cancels a running export the same way.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import (
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
from bpviz.ui.export_job import (
    DECKS,
    LAID_OUT,
    STEPPED,
    ExportOptions,
    make_exporter,
    run_export,
)
from bpviz.ui.export_kinds import (
    DEFAULT_DPI,
    KINDS,
    LAYOUT_CHOICES,
    PICTURES,
    RASTER,
    fill_kinds,
    suggested_name,
)
from bpviz.ui.export_preview import PREVIEW_DPI, ExportPreview
from bpviz.ui.process_job import News, ProcessJob

POLL_MS = 30
KILL_SECONDS = 3.0  # a cancelled export that has not stopped by then is killed


class ExportDialog(ExportPreview, QDialog):
    exported = Signal(str)  # the path written
    export_finished = Signal(bool)  # True: written; False: failed or cancelled

    def __init__(self, document: GraphDocument, session=None, metrics=None,
                 parent=None, folder: str | None = None, stem: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.document, self.session, self.metrics = document, session, metrics
        self.folder, self.stem = folder or "", stem or "graph"  # where Export… starts
        self.dpi_chosen = False  # the user set the DPI: no automatic GIF resolution
        self._setting_dpi = False
        self._job: ProcessJob | None = None
        # NOTE: the job is also held outside the dialog, for the lambda below: it
        # must not keep the dialog alive, and must still see the job once the
        # dialog's C++ side is gone.
        box = self._job_box = [None]
        self.destroyed.connect(lambda *_: _abandon(box[0]))
        self._poll_timer = QTimer(self)
        self._poll_timer.setInterval(POLL_MS)
        self._poll_timer.timeout.connect(self._poll)
        self._preview_image: QImage | None = None
        self.kind = QComboBox()
        fill_kinds(self.kind, session is not None, bool(metrics))
        self.step = QSpinBox()
        self.dpi = QDoubleSpinBox()
        self.theme = QComboBox()
        self.layout_choice = QComboBox()
        self.transparent = QCheckBox("Transparent background")
        self.size_label, self.preview, self.status = QLabel(), QLabel(), QLabel()
        self.hint = QLabel()
        self.progress = QProgressBar()
        self.export_button, self.cancel_button = QPushButton("Export…"), QPushButton("Cancel")
        self.close_button = QPushButton("Close")
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
        self.dpi.setValue(DEFAULT_DPI)
        self.dpi.setSuffix(" dpi")
        self.theme.addItem("Light (print)", "light")
        self.theme.addItem("Dark", "dark")
        for label, choice in LAYOUT_CHOICES.items():
            self.layout_choice.addItem(label, choice)
        form = QFormLayout()
        form.addRow("Export", self.kind)
        form.addRow("Step", self.step)
        form.addRow("Resolution", self.dpi)
        form.addRow("Theme", self.theme)
        form.addRow("Layout", self.layout_choice)
        form.addRow("", self.transparent)
        form.addRow("Size", self.size_label)
        form.addRow("", self.hint)
        self.preview.setMinimumSize(480, 200)
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)  # only while an export runs
        self.export_button.setDefault(True)
        self.status.setWordWrap(True)
        self.hint.setWordWrap(True)
        self.hint.setText("The forward and backward pass and its tensors: step through "
                          "once first (F10, Run menu)."
                          if self.session is None else "")
        self.hint.setVisible(self.session is None)
        buttons = QHBoxLayout()
        buttons.addWidget(self.progress, 1)
        buttons.addStretch()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addLayout(form)
        top.addWidget(self.preview, 1)
        layout.addLayout(top, 1)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _connect(self) -> None:
        self.dpi.valueChanged.connect(self._dpi_changed)  # before refresh sees the value
        for signal in (self.kind.currentIndexChanged, self.step.valueChanged,
                       self.dpi.valueChanged, self.theme.currentIndexChanged,
                       self.layout_choice.currentIndexChanged,
                       self.transparent.toggled):
            signal.connect(self.refresh)
        self.export_button.clicked.connect(self.choose_and_export)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.reject)  # as Esc

    # -- choices ------------------------------------------------------------
    @property
    def current_kind(self) -> str:
        return self.kind.currentData()

    def set_kind(self, kind: str) -> None:
        index = self.kind.findData(kind)
        if index < 0 or not self.kind.model().item(index).isEnabled():
            raise ValueError(f"{kind!r} cannot be exported from what this dialog was given")
        self.kind.setCurrentIndex(index)

    def refresh(self) -> None:
        """Enable the choices that apply, and redraw the preview and the size line."""
        kind = self.current_kind
        self.step.setEnabled(self.session is not None and kind in STEPPED)
        self.dpi.setEnabled(kind in RASTER)
        self.theme.setEnabled(kind in PICTURES or kind in DECKS or kind == "heatmaps")
        self.layout_choice.setEnabled(kind in LAID_OUT)
        self.transparent.setEnabled(kind in {"svg", "pdf", "png", "frames", "curves_png",
                                             "curves_svg"})
        self.status.setText("")
        try:
            self._fit_gif_dpi(kind)
            self._show_preview(kind)
        except Exception as error:  # a preview must never break the dialog
            self.preview.setText(f"no preview: {error}")
            self.size_label.setText("")

    def _dpi_changed(self) -> None:
        if not self._setting_dpi:
            self.dpi_chosen = True

    def _set_dpi(self, dpi: float) -> None:
        before, self._setting_dpi = self._setting_dpi, True  # refresh may come back here
        try:
            self.dpi.setValue(dpi)
        finally:
            self._setting_dpi = before

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_preview()

    def set_layout(self, layout: str, aspect: float = 16 / 9) -> None:
        """Choose the Layout entry for `layout` (and, for "slide", `aspect`)."""
        for index in range(self.layout_choice.count()):
            chosen, chosen_aspect = self.layout_choice.itemData(index)
            if chosen == layout and (layout != "slide" or abs(chosen_aspect - aspect) < 1e-6):
                self.layout_choice.setCurrentIndex(index)
                return
        raise ValueError(f"no layout choice {layout!r} at aspect {aspect:.3g}")

    def options(self, preview: bool = False) -> ExportOptions:
        """The current choices (at a small DPI for the preview)."""
        layout, aspect = self.layout_choice.currentData()
        return ExportOptions(layout=layout, aspect=aspect,
                             dpi=PREVIEW_DPI if preview else self.dpi.value(),
                             theme=self.theme.currentData(),
                             transparent=self.transparent.isChecked(),
                             step=self.step.value() if self.session is not None else 0,
                             preview=preview)

    def make_exporter(self, kind: str | None = None, preview: bool = False):
        """The exporter for the current choices, in this process (the previews)."""
        return make_exporter(kind or self.current_kind, self.document, self.session,
                             self.metrics, self.options(preview))

    # -- exporting ----------------------------------------------------------
    def choose_and_export(self) -> None:
        label, file_filter, *_ = KINDS[self.current_kind]
        if file_filter is None:
            path = QFileDialog.getExistingDirectory(self, label, self.folder)
        else:
            path, _ = QFileDialog.getSaveFileName(self, label, self.suggested_path(),
                                                  file_filter)
        if path:
            self.export_to(path)

    def suggested_path(self) -> str:
        """"<graph file's name>.<extension>" in the folder the dialog was given."""
        name = suggested_name(self.current_kind, self.stem)
        return str(Path(self.folder) / name) if self.folder else name

    @property
    def exporting(self) -> bool:
        return self._job is not None

    def export_to(self, path: str | Path) -> bool:
        """Start writing the current choice to `path` in the export's process; False
        (and nothing happens) when an export is already running. `export_finished`
        tells how it went (at once when the job cannot even start)."""
        if self._job is not None:
            return False
        # NOTE: a copy: the editor's document holds its listeners (the editor), which
        # neither pickle nor belong in the export.
        job = ProcessJob(run_export, self.current_kind, self.document.copy(), self.session,
                         self.metrics, self.options(), str(path), name="bpviz-export")
        try:
            job.start()
        except Exception as error:  # noqa: BLE001 - e.g. a pass that does not pickle
            self.status.setText(f"Could not export: {error}")
            self.export_finished.emit(False)
            return True
        self._job = self._job_box[0] = job
        self.progress.setRange(0, 0)  # busy until the first frame
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.export_button.setEnabled(False)
        self.status.setText(f"Exporting to {path}…")
        self._poll_timer.start()
        return True

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel(kill_after=KILL_SECONDS)
            self.status.setText("Cancelling…")

    def done(self, result: int) -> None:  # closing the dialog stops the export
        self.cancel()
        super().done(result)

    def _poll(self) -> None:
        news = self._job.poll()
        if news.progress is not None:
            done, total = news.progress
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
            if done >= total:
                self.status.setText("Writing the file…")
        if news.finished:
            self._finish(news)

    def _finish(self, news: News) -> None:
        self._poll_timer.stop()
        self._job = self._job_box[0] = None
        self.cancel_button.setVisible(False)
        self.export_button.setEnabled(True)
        self.progress.setVisible(False)
        if news.cancelled:
            self.status.setText("Cancelled: nothing was written.")
        elif news.error is not None:
            self.status.setText(f"Could not export: {news.error}")
        else:
            self.status.setText(f"Wrote {news.result}")
            self.exported.emit(news.result)
        self.export_finished.emit(news.error is None and not news.cancelled)


def _abandon(job: ProcessJob | None) -> None:
    """The dialog is gone: stop its export (a cancel, then a kill if need be)."""
    if job is not None and job.running:
        job.cancel(kill_after=KILL_SECONDS)
