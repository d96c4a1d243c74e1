"""The pass as a GIF (read back with Pillow) and as numbered PNG frames."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image

from bpviz.export.animation import FramesExporter, GifExporter
from bpviz.export.base import ExportCancelled
from tests.export.helpers import RESIDUAL, TINY, session_for


@pytest.mark.parametrize("path", [TINY, RESIDUAL])
def test_gif_has_one_frame_per_step(qapp, tmp_path, path):
    document, *_, session = session_for(path)
    calls = []
    out = GifExporter(document, session, dpi=48,
                      progress=lambda done, total: calls.append((done, total))).export(
        tmp_path / "pass.gif")
    with Image.open(out) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == len(session.steps)
        sizes, pixels = set(), []
        for index in range(gif.n_frames):
            gif.seek(index)
            sizes.add(gif.size)
            pixels.append(np.asarray(gif.convert("RGB")))
    assert len(sizes) == 1
    assert all(not np.array_equal(a, b) for a, b in zip(pixels, pixels[1:]))
    assert calls[-1][0] == calls[-1][1] == len(session.steps)
    assert session.position == -1


def test_frames_are_numbered_pngs_and_stale_frames_go(qapp, tmp_path):
    document, *_, session = session_for(TINY)
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "frame_9999.png").write_bytes(b"old")
    (folder / "notes.txt").write_text("mine")
    FramesExporter(document, session, dpi=40).export(folder)
    frames = sorted(p.name for p in folder.glob("frame_*.png"))
    assert frames == [f"frame_{i:04d}.png" for i in range(1, len(session.steps) + 1)]
    assert (folder / "notes.txt").read_text() == "mine"
    with Image.open(folder / frames[0]) as first, Image.open(folder / frames[-1]) as last:
        assert first.size == last.size


def test_cancel_writes_nothing(qapp, tmp_path):
    document, *_, session = session_for(TINY)
    exporter = GifExporter(document, session, dpi=40)
    seen = threading.Event()

    def progress(done, total):
        if done >= 2:
            exporter.cancel()
            seen.set()

    exporter.progress = progress
    with pytest.raises(ExportCancelled):
        exporter.export(tmp_path / "pass.gif")
    assert seen.is_set()
    assert list(tmp_path.iterdir()) == []
