"""Graphs, passes and independent readers shared by the export tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

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


def pdf_page_pixels(pdf: Path, tmp_path: Path, dpi: int = 50) -> np.ndarray:
    """Page 1 of `pdf` as an RGB array, rendered by poppler's pdftoppm."""
    assert shutil.which("pdftoppm"), "pdftoppm (poppler-utils) is needed: .ci/run installs it"
    prefix = tmp_path / "page"
    subprocess.run(["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-png",
                    str(pdf), str(prefix)], check=True, capture_output=True, timeout=120)
    from PIL import Image

    with Image.open(prefix.with_suffix(".png")) as image:
        return np.asarray(image.convert("RGB"))


def non_blank(pixels: np.ndarray) -> bool:
    """More than a sliver of the page differs from its corner's colour."""
    background = pixels[0, 0].astype(int)
    differs = np.abs(pixels.astype(int) - background).sum(axis=2) > 60
    return differs.mean() > 0.01
