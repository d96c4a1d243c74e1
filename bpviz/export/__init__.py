"""Exports for lecture slides: the graph, a backprop step, tensors, curves and animations.

Every exporter has `export(path=None)`: without a path it returns what it
made (bytes, a QImage, arrays, text), with one it writes the file
atomically (bpviz.atomic.atomic_write: never a half-written file). Qt runs
off screen when there is no display.

    graph.py       SvgExporter, PdfExporter, PngExporter: the canvas's picture,
                   optionally at one step of a StepSession
    tikz.py        TikzExporter: a standalone .tex with one node per layer, a folded
                   group one box (tikz_items.py: what the picture draws)
    tensors.py     NpzExporter, CsvExporter, BmatrixExporter: every tensor of a pass
    heatmaps.py    HeatmapExporter: a PNG per tensor, a tile per channel, a colour bar
    curves.py      CurvesExporter: loss, accuracy and gradient norms to PNG, SVG, PDF, CSV
    animation.py   GifExporter, FramesExporter: the whole pass, one frame per step
    deck.py        plan_deck: a slide deck's content, one slide per step (deck_layout.py
                   places it; deck_pptx.py, deck_beamer.py, deck_pdf.py write it)

`bpviz export` (bpviz.cli.export) runs them from the command line.
"""

from bpviz.export.base import ExportCancelled, Exporter, ExportError

__all__ = ["ExportCancelled", "ExportError", "Exporter"]
