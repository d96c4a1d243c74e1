"""The export dialog: choices, preview, writing without a file dialog, progress and cancel."""

from __future__ import annotations

import multiprocessing
import xml.etree.ElementTree as ET

import pytest
from PIL import Image

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from bpviz.export.curves import CurveRecorder  # noqa: E402
from bpviz.ui.export_dialog import ExportDialog  # noqa: E402
from bpviz.ui.export_kinds import GIF_MAX_WIDTH, KINDS  # noqa: E402
from tests.export.helpers import EXAMPLES, TINY, session_for  # noqa: E402


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
    """The kinds that can be chosen (the others are listed greyed)."""
    model = widget.kind.model()
    return [widget.kind.itemData(i) for i in range(widget.kind.count())
            if model.item(i).isEnabled()]


def test_offers_what_it_was_given(qtbot):
    document, *_ = session_for(TINY)
    plain = ExportDialog(document)
    qtbot.addWidget(plain)
    assert kinds(plain) == ["svg", "pdf", "png", "tex"]
    assert not plain.step.isEnabled()


def test_what_needs_a_pass_or_a_run_is_greyed_with_how_to_get_it(qtbot):
    document, *_ = session_for(TINY)
    plain = ExportDialog(document)
    qtbot.addWidget(plain)
    assert plain.kind.count() == len(KINDS)
    gif = plain.kind.findData("gif")
    assert "F10" in plain.kind.itemData(gif, Qt.ItemDataRole.ToolTipRole)
    assert "F10" in plain.hint.text() and not plain.hint.isHidden()
    curves = plain.kind.findData("curves_png")
    assert "train" in plain.kind.itemData(curves, Qt.ItemDataRole.ToolTipRole)
    with pytest.raises(ValueError):
        plain.set_kind("gif")


def test_close_button_and_esc_close_and_cancel_shows_only_while_exporting(qtbot, dialog,
                                                                          tmp_path):
    dialog.show()
    assert dialog.close_button.isVisible() and not dialog.cancel_button.isVisible()
    assert dialog.hint.isHidden()
    dialog.set_kind("svg")
    with qtbot.waitSignal(dialog.export_finished, timeout=60_000):
        dialog.export_to(tmp_path / "g.svg")
        assert dialog.cancel_button.isVisible()
    assert not dialog.cancel_button.isVisible()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    dialog.show()
    dialog.close_button.click()
    assert not dialog.isVisible()


def test_a_gif_starts_at_most_full_hd_wide_unless_the_dpi_is_chosen(qtbot):
    document, *_, session = session_for(EXAMPLES / "deep_residual_20.json")
    widget = ExportDialog(document, session=session)
    qtbot.addWidget(widget)
    widget.set_kind("gif")
    width = int(widget.size_label.text().split(" × ")[0])
    assert 1500 <= width <= GIF_MAX_WIDTH and widget.dpi.value() < 150
    assert "1920 px" in widget.size_label.text()
    widget.set_kind("png")
    assert widget.dpi.value() == 150
    widget.dpi.setValue(200)  # the user's choice stays
    widget.set_kind("gif")
    assert widget.dpi.value() == 200 and "1920 px" not in widget.size_label.text()


def test_export_offers_the_graph_name_in_the_given_folder(qtbot, tmp_path):
    document, *_ = session_for(TINY)
    widget = ExportDialog(document, folder=str(tmp_path), stem="tiny_cnn")
    qtbot.addWidget(widget)
    widget.set_kind("pdf")
    assert widget.suggested_path() == str(tmp_path / "tiny_cnn.pdf")


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


def export_and_wait(qtbot, widget, path, timeout: int = 60_000) -> bool:
    """Export to `path` in the dialog's process and wait for the outcome."""
    with qtbot.waitSignal(widget.export_finished, timeout=timeout) as outcome:
        assert widget.export_to(path)
    return outcome.args[0]


def test_exports_a_step_as_svg(qtbot, dialog, tmp_path):
    dialog.set_kind("svg")
    dialog.step.setValue(12)
    written = []
    dialog.exported.connect(written.append)
    assert export_and_wait(qtbot, dialog, tmp_path / "step.svg")
    root = ET.parse(tmp_path / "step.svg").getroot()
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "step 12/14" in text
    assert written == [str(tmp_path / "step.svg")]
    assert dialog.status.text() == f"Wrote {tmp_path / 'step.svg'}"


def test_a_gif_is_made_while_the_window_keeps_ticking(qtbot, dialog, tmp_path):
    # NOTE: at 150 dpi the frames take ~0.15 s and the GIF's encoding ~0.8 s in
    # one piece: on the UI thread, the timer below would not tick meanwhile.
    dialog.set_kind("gif")
    dialog.dpi.setValue(150)
    ticks, workers = [], set()  # at each tick: whether the export was running; its processes

    def tick() -> None:
        ticks.append(dialog.exporting)
        workers.update(p.name for p in multiprocessing.active_children())

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        assert export_and_wait(qtbot, dialog, tmp_path / "pass.gif")
    finally:
        timer.stop()
    with Image.open(tmp_path / "pass.gif") as gif:
        assert gif.n_frames == len(dialog.session.steps)
    assert "bpviz-export" in workers  # made in a process of its own
    assert ticks.count(True) > 20, "the UI thread's timer stopped while the GIF was made"
    assert not dialog.progress.isVisible() and dialog.export_button.isEnabled()


def test_cancel_writes_nothing_and_ends_the_process(qtbot, dialog, tmp_path):
    dialog.set_kind("gif")
    dialog.dpi.setValue(200)
    assert dialog.export_to(tmp_path / "pass.gif")
    job = dialog._job
    qtbot.waitUntil(lambda: dialog.progress.maximum() > 0, timeout=30_000)  # frames begun
    with qtbot.waitSignal(dialog.export_finished, timeout=15_000) as outcome:
        dialog.cancel_button.click()
    assert outcome.args == [False]
    assert dialog.status.text() == "Cancelled: nothing was written."
    qtbot.waitUntil(lambda: not job.process.is_alive(), timeout=5_000)
    assert list(tmp_path.iterdir()) == []


def test_closing_the_dialog_stops_the_export(qtbot, dialog, tmp_path):
    dialog.set_kind("frames")
    dialog.show()
    assert dialog.export_to(tmp_path / "frames")
    job = dialog._job
    dialog.close()
    qtbot.waitUntil(lambda: not job.process.is_alive(), timeout=10_000)
    assert not (tmp_path / "frames").exists()


def test_curves_and_errors(qtbot, dialog, tmp_path):
    dialog.set_kind("curves_png")
    assert export_and_wait(qtbot, dialog, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 0
    dialog.set_kind("npz")
    assert not export_and_wait(qtbot, dialog, tmp_path / "missing" / "t.npz")
    assert dialog.status.text().startswith("Could not export: ")
    assert "does not exist" in dialog.status.text()
    assert isinstance(CurveRecorder().rows, list)


def test_exports_a_slide_deck_of_the_pass(qtbot, dialog, tmp_path):
    pptx = pytest.importorskip("pptx")
    plain = ExportDialog(dialog.document)
    qtbot.addWidget(plain)
    with pytest.raises(ValueError):  # a deck needs a pass
        plain.set_kind("deck_pptx")
    dialog.set_kind("deck_pptx")
    assert dialog.theme.isEnabled() and dialog.layout_choice.isEnabled()
    assert "slide deck" in dialog.preview.text()
    assert dialog.suggested_path().endswith("_deck.pptx")
    assert export_and_wait(qtbot, dialog, tmp_path / "talk.pptx", timeout=120_000)
    slides = pptx.Presentation(str(tmp_path / "talk.pptx")).slides
    assert len(slides) == 1 + len(dialog.session.steps)  # a title, then every step
