"""Graphs, passes and independent readers shared by the export tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bpviz.engine.stepping import StepSession
from bpviz.graph import build_network, load_graph
from bpviz.graph.batch import random_batch

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
RESIDUAL = ROOT / "tests" / "data" / "residual_concat_cnn.json"
TINY = EXAMPLES / "tiny_cnn.json"


def session_for(path: Path, batch: int = 2, seed: int = 0):
    """(document, network, feeds, targets, session): a float64 pass from `seed`."""
    document = load_graph(path)
    network = build_network(document, seed=seed, dtype=np.float64)
    feeds, targets = random_batch(network, batch, seed, np.float64)
    return document, network, feeds, targets, StepSession(network, feeds, targets)


# NOTE: Debian's texlive-latex-base has pdflatex; the TikZ figures also need PGF
# from texlive-pictures. .ci/run installs both and fails on any skip.
needs_pdflatex = pytest.mark.skipif(
    shutil.which("pdflatex") is None,
    reason="pdflatex is not on the PATH: install Debian's texlive-latex-base and "
           "texlive-pictures to run the tests that compile TeX")


def _has_beamer() -> bool:
    if shutil.which("pdflatex") is None or shutil.which("kpsewhich") is None:
        return False
    found = subprocess.run(["kpsewhich", "beamer.cls"], capture_output=True, text=True)
    return bool(found.stdout.strip())


# NOTE: Beamer comes with Debian's texlive-latex-recommended (.ci/run installs it).
needs_beamer = pytest.mark.skipif(
    not _has_beamer(),
    reason="pdflatex with Beamer is needed: install Debian's texlive-latex-base, "
           "texlive-pictures and texlive-latex-recommended to compile the Beamer decks")


def compile_tex(tex: Path) -> Path:
    """The PDF pdflatex makes of `tex` (in its folder); fails with pdflatex's log."""
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                             tex.name], cwd=tex.parent, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout[-3000:]
    return tex.with_suffix(".pdf")


def open_pdf(pdf: Path):
    """`pdf` read by PDFium (pypdfium2), a reader independent of Qt's PDF writer."""
    import pypdfium2

    return pypdfium2.PdfDocument(pdf)


def pdf_page_pixels(pdf: Path, dpi: int = 50) -> np.ndarray:
    """Page 1 of `pdf` as an RGB array, rendered by PDFium at `dpi` (1 pt = 1/72 inch)."""
    document = open_pdf(pdf)
    try:
        image = document[0].render(scale=dpi / 72).to_pil()
        return np.asarray(image.convert("RGB"))
    finally:
        document.close()


def pdf_text(pdf: Path) -> str:
    """The text of every page of `pdf`, as PDFium extracts it."""
    document = open_pdf(pdf)
    try:
        return "\n".join(page.get_textpage().get_text_bounded() for page in document)
    finally:
        document.close()


def pdf_image_count(pdf: Path) -> int:
    """How many bitmaps the pages of `pdf` draw (also inside form XObjects)."""
    import pypdfium2.raw as pdfium_c

    document = open_pdf(pdf)
    try:
        return sum(1 for page in document
                   for _ in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]))
    finally:
        document.close()


def non_blank(pixels: np.ndarray) -> bool:
    """More than a sliver of the page differs from its corner's colour."""
    background = pixels[0, 0].astype(int)
    differs = np.abs(pixels.astype(int) - background).sum(axis=2) > 60
    return differs.mean() > 0.01
