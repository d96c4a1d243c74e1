"""What File › Export offers: the kinds, the layouts, and how the kind list is filled."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox

from bpviz.ui.export_job import DECKS

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
    "deck_pptx": ("Slide deck of the pass (PowerPoint .pptx)", "PowerPoint (*.pptx)", True,
                  False),
    "deck_tex": ("Slide deck of the pass (Beamer .tex)", "LaTeX (*.tex)", True, False),
    "deck_pdf": ("Slide deck of the pass (PDF)", "PDF (*.pdf)", True, False),
    "curves_png": ("Training curves as PNG", "PNG (*.png)", False, True),
    "curves_svg": ("Training curves as SVG", "SVG (*.svg)", False, True),
    "curves_csv": ("Training curves as CSV", "CSV (*.csv)", False, True),
}
# label → (layout, aspect) of the Layout choice
LAYOUT_CHOICES = {
    "Automatic (wrap when over 3:1 wide)": ("auto", 16 / 9),
    "As on the canvas": ("canvas", 16 / 9),
    "Fit a 16:9 slide": ("slide", 16 / 9),
    "Fit a 4:3 slide": ("slide", 4 / 3),
}
NO_PASS = "step through once (F10, Run menu) to export the pass"
NO_METRICS = "train once (Train menu) to export the training curves"
DEFAULT_DPI = 150
GIF_MAX_WIDTH = 1920  # px: a GIF's frames at most this wide unless the user sets the DPI
PICTURES = {"svg", "pdf", "png", "gif", "frames", "curves_png", "curves_svg"}
RASTER = {"png", "gif", "frames", "heatmaps", "curves_png"}


def fill_kinds(combo: QComboBox, has_pass: bool, has_metrics: bool) -> None:
    """Every kind into `combo`; those needing a pass or metrics that are not there
    are greyed, with a tooltip that says how to get them."""
    model = combo.model()
    for key, (label, _, needs_pass, needs_metrics) in KINDS.items():
        missing = (NO_PASS if needs_pass and not has_pass else
                   NO_METRICS if needs_metrics and not has_metrics else "")
        note = {NO_PASS: " (step through first)", NO_METRICS: " (train first)"}.get(missing, "")
        combo.addItem(label + note, key)
        if missing:
            index = combo.count() - 1
            model.item(index).setEnabled(False)
            combo.setItemData(index, missing, Qt.ItemDataRole.ToolTipRole)


def suggested_name(kind: str, stem: str) -> str:
    """"<stem>.<extension>" for `kind` (curves: "<stem>_curves.<extension>"); a
    folder's name for the kinds that write a folder."""
    file_filter = KINDS[kind][1]
    if file_filter is None:
        return f"{stem}_{kind}"
    suffix = file_filter[file_filter.index("*") + 1:file_filter.index(")")]
    tail = "_curves" if kind.startswith("curves") else "_deck" if kind in DECKS else ""
    return f"{stem}{tail}{suffix}"


def deck_summary(kind: str, steps: int) -> str:
    """What a deck of a pass of `steps` steps holds (the dialog's preview text)."""
    beamer = "\n\nBeamer: compile with pdflatex;\nthe heatmaps go into a folder beside the .tex"
    return ("A 16:9 slide deck of the pass:\na title slide with the whole graph,\n"
            f"then {steps} slides, one per step:\nthe graph, the formula, heatmaps "
            "and speaker notes" + (beamer if kind == "deck_tex" else ""))
