"""The Export dialog's preview and size line (bpviz.ui.export_dialog).

The preview is the picture itself at PREVIEW_DPI (made in the UI process: a
few tens of ms); an animation previews its current frame. The size line gives
the output's size in pixels and inches; a GIF's resolution starts low enough
for frames at most GIF_MAX_WIDTH px wide, until the user sets it. Kinds that
are not pictures (tensors, metrics, TikZ, decks) show a one-line summary.

`ExportPreview` is mixed into ExportDialog, whose choices (`kind`, `dpi`,
`theme`, `layout_choice`), labels (`preview`, `size_label`) and
`make_exporter` it uses.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap

from bpviz.ui.export_job import DECKS
from bpviz.ui.export_kinds import DEFAULT_DPI, GIF_MAX_WIDTH, PICTURES, RASTER, deck_summary

PREVIEW_DPI = 48
PICTURE_STYLE = "QLabel { background: #808080; }"  # a neutral grey behind either theme
WORDS_STYLE = "QLabel { background: palette(base); color: palette(text); }"


class ExportPreview:
    """The preview picture, the size line and the GIF's fitted resolution."""

    def _fit_gif_dpi(self, kind: str) -> None:
        """Unless the user chose the DPI: a GIF's frames at most GIF_MAX_WIDTH px
        wide (a big graph's would be tens of MB), other kinds at DEFAULT_DPI."""
        if self.dpi_chosen:
            return
        dpi = DEFAULT_DPI
        if kind == "gif":
            width = self._frame_preview().width() * DEFAULT_DPI / PREVIEW_DPI
            dpi = min(DEFAULT_DPI, max(10, int(DEFAULT_DPI * GIF_MAX_WIDTH / width)))
        self._set_dpi(dpi)

    def _show_preview(self, kind: str) -> None:
        from bpviz.export.devices import base_dpi

        if kind not in PICTURES:  # words, in the theme's text and base colours
            self._preview_image = None
            self.preview.setStyleSheet(WORDS_STYLE)
            self.preview.setPixmap(QPixmap())
            self.preview.setText(self._summary(kind))
            self.size_label.setText(self._deck_size() if kind in DECKS else "")
            return
        self.preview.setStyleSheet(PICTURE_STYLE)
        exporter = self.make_exporter(kind, preview=True)
        image = exporter.export() if kind not in ("gif", "frames") else None
        if image is None:  # an animation: preview its current frame only
            image = self._frame_preview()
        scale = (self.dpi.value() if kind in RASTER else base_dpi()) / PREVIEW_DPI
        width, height = self.written_size(kind) or (round(image.width() * scale),
                                                    round(image.height() * scale))
        inches = f"{width / self.dpi.value():.1f} × {height / self.dpi.value():.1f} in" \
            if kind in RASTER else f"{width / base_dpi():.1f} × {height / base_dpi():.1f} in"
        fitted = kind == "gif" and not self.dpi_chosen and self.dpi.value() < DEFAULT_DPI
        self.size_label.setText(f"{width} × {height} px ({inches})" + (
            f"\nfitted to {GIF_MAX_WIDTH} px wide; set the resolution to change it"
            if fitted else ""))
        self._preview_image = image
        self._fit_preview()

    def _fit_preview(self) -> None:
        if self._preview_image is not None:
            self.preview.setPixmap(QPixmap.fromImage(self._preview_image).scaled(
                self.preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))

    def written_size(self, kind: str) -> tuple[int, int] | None:
        """The pixels a PNG, or every frame of a GIF or folder of frames, will have
        (frames are as large as the largest step's; a preview shows one step)."""
        from bpviz.export.devices import raster_size

        if kind in ("gif", "frames") and self.session is not None:
            return self.make_exporter(kind).frame_size()
        if kind == "png":
            return raster_size(self.make_exporter(kind).painter().size(), self.dpi.value())
        return None

    def _frame_preview(self) -> QImage:
        from bpviz.export.graph import PngExporter

        steps = len(self.session.steps)
        position = self.session.position if self.session.position >= 0 else steps - 1
        layout, aspect = self.layout_choice.currentData()
        return PngExporter(self.document, dpi=PREVIEW_DPI, theme=self.theme.currentData(),
                           session=self.session, position=position, caption=True,
                           layout=layout, aspect=aspect).export()

    def _deck_size(self) -> str:
        """How many slides the deck has, and their shape."""
        count = len(self.make_exporter(preview=True).deck.all_slides)
        return f"{count} slides (a title slide, then one per step), 16:9"

    def _summary(self, kind: str) -> str:
        if kind == "tex":
            return f"A TikZ picture of {len(self.document.nodes)} nodes (compile with pdflatex)"
        if kind in DECKS:
            return deck_summary(kind, len(self.session.steps))
        if kind in ("npz", "csv", "heatmaps"):
            from bpviz.export.tensors import collect_tensors

            tensors = collect_tensors(self.session)
            values = sum(t.size for t in tensors.values())
            return f"{len(tensors)} tensors, {values:,} values"
        return f"{len(self.metrics)} rows of metrics"
