"""The training strip's own widgets: the learning rate's range, the pause button, the
empty progress bar."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402

from tests.ui.training.panelkit import FINISH_S, batch_points, wait_idle  # noqa: E402


def type_into(box, text: str) -> None:
    box.setFocus()
    box.lineEdit().selectAll()
    QTest.keyClicks(box, text)
    QTest.keyClick(box, Qt.Key.Key_Return)


@pytest.mark.parametrize(("typed", "value", "shown"), [
    ("1000000", 1e6, "1e+06"), ("1e5", 1e5, "1e+05"), ("100000", 1e5, "1e+05"),
    ("0.003", 0.003, "0.003"), ("2.5e-05", 2.5e-5, "2.5e-05"), ("1000", 1000, "1000"),
    ("5000", 5000, "5000"), ("12345", 12345, "1.2345e+04"), ("0.0001", 1e-4, "0.0001")])
def test_the_learning_rate_takes_what_is_typed_up_to_a_million(make_panel, typed, value,
                                                                shown):
    controls = make_panel().controls
    type_into(controls.lr, typed)
    assert controls.lr.value() == pytest.approx(value) and controls.lr.text() == shown
    assert controls.config().lr == pytest.approx(value)
    assert "⚠" not in controls.status.text()


@pytest.mark.parametrize("typed", ["1e7", "0.000001"])
def test_a_learning_rate_out_of_range_is_refused_with_a_note(make_panel, typed):
    controls = make_panel().controls
    type_into(controls.lr, "0.02")
    type_into(controls.lr, typed)
    assert controls.lr.value() == 0.02  # kept, not clamped
    status = controls.status.toolTip()
    assert status.startswith(f"learning rate {float(typed):g} is out of range")
    assert "1e-05 to 1e+06" in status and "⚠" in controls.status.text()


@pytest.mark.parametrize("accepted", ["1000", "0.02"])  # another value, the same one
def test_the_out_of_range_note_goes_once_a_learning_rate_is_accepted(make_panel, accepted):
    controls = make_panel().controls
    controls.set_status("trained 3 epochs")
    type_into(controls.lr, "0.02")
    type_into(controls.lr, "1e7")
    assert controls.status.toolTip().startswith("learning rate 1e+07 is out of range")
    type_into(controls.lr, "2e6")  # refused again: the note stays, says the new value
    assert controls.status.toolTip().startswith("learning rate 2e+06 is out of range")
    type_into(controls.lr, accepted)
    assert controls.lr.value() == float(accepted)
    assert controls.status.toolTip() == "trained 3 epochs"  # what the note covered
    assert "⚠" not in controls.status.text()


def test_the_arrows_clear_the_out_of_range_note_and_a_newer_status_stays(make_panel):
    controls = make_panel().controls
    type_into(controls.lr, "1e7")
    controls.lr.stepBy(1)
    assert controls.status.toolTip() == ""
    type_into(controls.lr, "1e7")
    controls.set_status("preparing moons…")
    type_into(controls.lr, "0.5")
    assert controls.status.toolTip() == "preparing moons…"


def test_the_arrows_step_by_a_tenth_of_the_values_power_of_ten(make_panel):
    lr = make_panel().controls.lr
    lr.setValue(0.01)
    lr.stepBy(1)
    assert lr.value() == pytest.approx(0.011)
    lr.setValue(5e5)
    lr.stepBy(1)
    assert lr.value() == pytest.approx(5.1e5)


def test_a_huge_learning_rate_on_a_relu_cnn_pauses_for_a_nan(qtbot, make_panel):
    panel = make_panel("tiny_cnn", dataset="digits", epochs=5, optimizer="SGD")
    type_into(panel.controls.lr, "1e3")
    assert panel.start()
    qtbot.waitUntil(lambda: panel.state == "paused", timeout=FINISH_S)
    assert "(lr 1000 may be too high)" in panel.controls.status.toolTip()
    panel.stop()
    wait_idle(qtbot, panel)


def test_the_pause_button_shows_what_a_click_does(qtbot, make_panel):
    panel = make_panel(epochs=100000)
    button, icons = panel.controls.pause_button, panel.controls.icons
    assert button.text() == "Pause" and button.icon().cacheKey() == icons["pause"].cacheKey()
    assert panel.start()
    qtbot.waitUntil(lambda: batch_points(panel) > 5, timeout=FINISH_S)
    button.click()
    assert panel.state == "paused"
    assert button.text() == "Resume" and button.icon().cacheKey() == icons["resume"].cacheKey()
    button.click()
    assert button.text() == "Pause" and button.icon().cacheKey() == icons["pause"].cacheKey()
    panel.stop()
    wait_idle(qtbot, panel)


def test_the_progress_bar_says_there_is_no_run_yet(make_panel):
    progress = make_panel().controls.progress
    assert progress.text() == "no run yet"
