"""The export dialog: choices, preview, writing without a file dialog, progress and cancel."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PIL import Image

pytest.importorskip("PySide6")

from bpviz.export.curves import CurveRecorder  # noqa: E402
from bpviz.ui.export_dialog import ExportDialog  # noqa: E402
from tests.export.helpers import TINY, session_for  # noqa: E402


@pytest.fixture
def dialog(qtbot):
    document, *_, session = session_for(TINY)
    session.seek(10)
    rows = [{"epoch": 1, "iteration": 5, "train_loss": 0.9, "val_loss": 0.8},
            {"epoch": 2, "iteration": 10, "train_loss": 0.5, "val_loss": 0.6}]
    widget = ExportDialog(document, session=session, metrics=rows)
    qtbot.addWidget(widget)
    return widget


def kinds(widget) -> list[str]:
    return [widget.kind.itemData(i) for i in range(widget.kind.count())]


def test_offers_what_it_was_given(qtbot):
    document, *_ = session_for(TINY)
    plain = ExportDialog(document)
    qtbot.addWidget(plain)
    assert kinds(plain) == ["svg", "pdf", "png", "tex"]
    assert not plain.step.isEnabled()


def test_preview_and_size_follow_the_choices(dialog):
    assert dialog.step.value() == 11  # the session's own step
    dialog.set_kind("png")
    assert not dialog.preview.pixmap().isNull()
    dialog.dpi.setValue(96)
    small = dialog.size_label.text()
    dialog.dpi.setValue(192)
    assert dialog.size_label.text() != small and " px " in dialog.size_label.text()
    dialog.set_kind("npz")
    assert "tensors" in dialog.preview.text()
    assert not dialog.dpi.isEnabled()


def test_exports_a_step_as_svg(dialog, tmp_path):
    dialog.set_kind("svg")
    dialog.step.setValue(12)
    written = []
    dialog.exported.connect(written.append)
    assert dialog.export_to(tmp_path / "step.svg")
    root = ET.parse(tmp_path / "step.svg").getroot()
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "step 12/14" in text
    assert written == [str(tmp_path / "step.svg")]


def test_gif_with_progress_and_cancel(dialog, tmp_path):
    dialog.set_kind("gif")
    dialog.dpi.setValue(30)
    assert dialog.export_to(tmp_path / "pass.gif")
    with Image.open(tmp_path / "pass.gif") as gif:
        assert gif.n_frames == len(dialog.session.steps)

    def cancel_soon(done, total):  # as if Cancel were clicked during the second frame
        if done == 2:
            dialog.cancel_button.click()

    original = dialog._on_progress
    dialog._on_progress = lambda done, total: (original(done, total), cancel_soon(done, total))
    assert not dialog.export_to(tmp_path / "again.gif")
    assert "Cancelled" in dialog.status.text()
    assert not (tmp_path / "again.gif").exists()


def test_curves_and_errors(dialog, tmp_path):
    dialog.set_kind("curves_png")
    assert dialog.export_to(tmp_path / "curves.png")
    dialog.set_kind("npz")
    assert not dialog.export_to(tmp_path / "missing" / "t.npz")
    assert "does not exist" in dialog.status.text()
    assert isinstance(CurveRecorder().rows, list)
