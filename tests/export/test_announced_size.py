"""The export dialog announces the pixels that are written: a PNG's, and every
frame's of a folder of frames (as large as the largest step's caption needs)."""

from __future__ import annotations

import re

import pytest
from PIL import Image

pytest.importorskip("PySide6")

from bpviz.ui.export_dialog import ExportDialog  # noqa: E402
from tests.export.helpers import TINY, session_for  # noqa: E402
from tests.export.test_export_dialog import export_and_wait  # noqa: E402


def announced(dialog) -> tuple[int, int]:
    width, height = re.match(r"(\d+) × (\d+) px", dialog.size_label.text()).groups()
    return int(width), int(height)


@pytest.mark.parametrize("kind, dpi", [("png", 150), ("png", 200), ("frames", 150)])
def test_the_size_announced_is_the_size_written(qtbot, tmp_path, kind, dpi):
    document, *_, session = session_for(TINY)
    session.seek(3)
    dialog = ExportDialog(document, session=session)
    qtbot.addWidget(dialog)
    dialog.set_kind(kind)
    dialog.dpi.setValue(dpi)
    dialog.step.setValue(4)
    qtbot.waitUntil(lambda: "px" in dialog.size_label.text(), timeout=20_000)
    target = tmp_path / ("out.png" if kind == "png" else "frames")
    assert export_and_wait(qtbot, dialog, target)
    files = [target] if kind == "png" else sorted(target.glob("frame_*.png"))
    assert files
    sizes = set()
    for path in files:
        with Image.open(path) as image:
            sizes.add(image.size)
    assert sizes == {announced(dialog)}
