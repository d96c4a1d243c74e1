"""The pass as a GIF (read back with Pillow) and as numbered PNG frames."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from PIL import Image
from PySide6.QtGui import QFontMetricsF

from bpviz.export.animation import FramesExporter, GifExporter
from bpviz.export.base import ExportCancelled
from bpviz.export.caption import CaptionLayout
from bpviz.export.figure import step_state
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


# -- captions ----------------------------------------------------------------------
BACKWARD_FORMULAS = {  # op → what its backward formula says, in the lecture's symbols
    "softmax_cross_entropy": "∂L/∂z_i = 1/N · (ŷ_i − y_i)",
    "dense": "∂L/∂W = (∂L/∂z) uᵀ",
    "flatten": "∂L/∂U = reshape(∂L/∂z, shape of U)",
    "maxpool2d": "∂L/∂U[j1,j2,c] = Σ of ∂L/∂z[i1,i2,c]",
    "relu": "∂L/∂z = ∂L/∂u ⊙ 1[z > 0]",
    "conv2d": "∂L/∂W[k1,k2,n,m] = Σ_{i1,i2} U[i1+k1, i2+k2, n] · ∂L/∂Z[i1,i2,m]",
    "input": "∂L/∂x: 1×8×8 per sample",
}


def test_every_backward_caption_shows_the_steps_formula_with_shapes(qapp):
    _, network, *_, session = session_for(TINY)
    backward = [k for k, step in enumerate(session.steps) if step.phase == "backward"]
    assert {session.steps[k].op for k in backward} == set(BACKWARD_FORMULAS)
    for position in backward:
        state = step_state(session, position)
        op = session.steps[position].op
        caption = " ".join(state.lines)
        assert BACKWARD_FORMULAS[op] in caption, (op, state.lines)
        assert "×" in caption or op == "softmax_cross_entropy"  # its shapes
        assert not any(line.startswith(("upstream", "start of backward"))
                       for line in state.lines)
        assert state.aside  # where the upstream gradient comes from, aside
    conv = step_state(session, next(k for k in backward if session.steps[k].op == "conv2d"))
    assert "∂L/∂Z: 8×8×8 → ∂L/∂U: 8×8×1 · ∂L/∂W: 3×3×1×8 · ∂L/∂b: 8" in conv.lines


def test_a_caption_fits_a_narrow_picture_by_shrinking_then_wrapping(qapp):
    _, network, *_, session = session_for(TINY)
    conv = step_state(session, max(k for k, s in enumerate(session.steps) if s.op == "conv2d"))
    wide = CaptionLayout(conv.title, conv.lines, conv.aside, 1600)
    narrow = CaptionLayout(conv.title, conv.lines, conv.aside, 520)
    assert [row.text for row in wide.rows[1:-1]] == list(conv.lines)
    assert wide.rows[1].font.pointSizeF() > narrow.rows[1].font.pointSizeF()
    assert len(narrow.rows) > len(wide.rows)  # a line wrapped
    for layout in (wide, narrow):
        for row in layout.rows:
            width = QFontMetricsF(row.font).horizontalAdvance(row.text)
            assert row.indent + width <= layout.width + 0.5, row.text
    formula = " ".join(row.text for row in narrow.rows[1:-1])
    assert formula.replace("  ", " ") == " ".join(conv.lines).replace("  ", " ")


def test_frames_make_room_for_the_tallest_caption(qapp):
    document, *_, session = session_for(TINY)
    frames = FramesExporter(document, session, dpi=96).data()
    states = [step_state(session, k) for k in range(len(session.steps))]
    tallest = max(CaptionLayout(s.title, s.lines, s.aside, frames[0].width() - 40).height
                  for s in states)
    assert len({(f.width(), f.height()) for f in frames}) == 1
    assert frames[0].height() > tallest
