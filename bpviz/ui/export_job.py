"""What File › Export makes, and the export as a job for a process of its own.

`make_exporter(kind, document, session, metrics, options)` builds the
bpviz.export exporter for one of the dialog's kinds; the dialog uses it for
its previews, and `run_export` (a bpviz.ui.process_job target) uses it in the
export's process: it rebuilds the exporter there from a copy of the graph
document, the StepSession (pickled whole: its steps, with their dropout
masks and batchnorm statistics, are the very ones the window shows) and the
metric rows, reports progress as (done, total) and turns a cancel into the
exporter's `cancel()` (nothing is written: exporters write atomically).

No widgets here: the child makes a QApplication of its own, offscreen.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

STEPPED = {"svg", "pdf", "png"}  # the graph, optionally at a step of the pass
DECKS = {"deck_pptx", "deck_tex", "deck_pdf"}  # a title slide and one slide per step
LAID_OUT = STEPPED | {"tex", "gif", "frames"} | DECKS  # the kinds that place the graph's nodes


@dataclass(frozen=True)
class ExportOptions:
    dpi: float = 150.0
    theme: str = "light"
    transparent: bool = False
    step: int = 0  # 1-based step of the pass for the graph kinds; 0: the plain graph
    preview: bool = False  # a small PNG of the picture instead of the real format
    layout: str = "auto"  # where the nodes go: "auto", "canvas" or "slide" (bpviz.export.slide)
    aspect: float = 16 / 9  # the slide's width / height, for "slide" (and "auto")


def make_exporter(kind: str, document, session=None, metrics=None,
                  options: ExportOptions = ExportOptions()):
    """The exporter for `kind` (a key of bpviz.ui.export_dialog.KINDS)."""
    dpi, theme, transparent = options.dpi, options.theme, options.transparent
    if kind.startswith("curves_"):
        from bpviz.export.curves import CurvesExporter

        fmt = "png" if options.preview else kind.split("_")[1]
        return CurvesExporter(metrics, fmt, theme=theme,
                              dpi=dpi if options.preview or kind == "curves_png" else None,
                              transparent=transparent)
    if kind in DECKS:
        return _deck_exporter(kind, document, session, options)
    if kind in STEPPED:
        from bpviz.export import graph

        step = options.step if session is not None else 0
        settings = dict(theme=theme, transparent=transparent,
                        session=session if step else None,
                        position=step - 1 if step else None,
                        layout=options.layout, aspect=options.aspect)
        if kind == "png" or options.preview:
            return graph.PngExporter(document, dpi=dpi, **settings)
        return {"svg": graph.SvgExporter, "pdf": graph.PdfExporter}[kind](document, **settings)
    return _pass_exporter(kind, document, session, options)


def _pass_exporter(kind: str, document, session, options: ExportOptions):
    from bpviz.export import animation, tensors
    from bpviz.export.devices import base_dpi
    from bpviz.export.heatmaps import HeatmapExporter
    from bpviz.export.tikz import TikzExporter

    dpi, theme = options.dpi, options.theme
    layout = dict(layout=options.layout, aspect=options.aspect)
    if kind == "tex":
        return TikzExporter(document, **layout)
    if kind == "gif":
        return animation.GifExporter(document, session, theme=theme, dpi=dpi, **layout)
    if kind == "frames":
        return animation.FramesExporter(document, session, theme=theme, dpi=dpi,
                                        transparent=options.transparent, **layout)
    if kind == "heatmaps":
        return HeatmapExporter(session, theme=theme, scale=dpi / base_dpi())
    return {"npz": tensors.NpzExporter, "csv": tensors.CsvExporter}[kind](session)


def _deck_exporter(kind: str, document, session, options: ExportOptions):
    """A slide deck of the whole pass: the title slide and one slide per step."""
    from bpviz.export.deck import plan_deck

    deck = plan_deck(document, session)
    settings = dict(theme=options.theme, layout=options.layout)
    if kind == "deck_pptx":
        from bpviz.export.deck_pptx import DeckPptxExporter

        return DeckPptxExporter(deck, **settings)
    if kind == "deck_tex":
        from bpviz.export.deck_beamer import DeckBeamerExporter

        return DeckBeamerExporter(deck, **settings)
    from bpviz.export.deck_pdf import DeckPdfExporter

    return DeckPdfExporter(deck, **settings)


def run_export(child, kind: str, document, session, metrics, options: ExportOptions,
               path: str) -> str:
    """In the export's process: write `kind` to `path`; the path written."""
    from bpviz.export.base import ExportCancelled, ensure_app
    from bpviz.ui.process_job import JobCancelled

    # NOTE: offscreen whatever the app used: the child must never open a window
    # or need the app's display.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    ensure_app()
    exporter = make_exporter(kind, document, session, metrics, options)

    def progress(done: int, total: int) -> None:
        # NOTE: export() clears the exporter's own cancel when it starts, so a
        # cancel that came earlier is only seen here.
        if child.cancelled:
            raise ExportCancelled("export cancelled")
        child.report((done, total), force=done == total)

    exporter.progress = progress
    child.on_cancel(exporter.cancel)
    try:
        written = exporter.export(Path(path))
    except ExportCancelled:
        raise JobCancelled() from None
    child.report((1, 1), force=True)
    return str(written)
