"""Help: the shortcut list is generated from the actions, the quick tour can be
skipped and reopened and is never shown by a test or a snapshot, and the
notation names the lecture's symbols."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import numpy as np  # noqa: E402
from PySide6.QtCore import QPoint, QRect, Qt  # noqa: E402
from PySide6.QtGui import (  # noqa: E402
    QAction,
    QColor,
    QImage,
    QKeySequence,
    QPainter,
    QTextDocument,
)

from bpviz.engine import OPS  # noqa: E402
from bpviz.ui.app import settings  # noqa: E402
from bpviz.ui.help import notation, tour  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


def shown_tours(window) -> list:
    return [found for found in window.findChildren(tour.QuickTour) if found.isVisible()]


def test_keyboard_shortcuts_lists_every_action_even_a_new_one(qtbot):
    window, _answers = make_window(qtbot)
    added = QAction("Flip the Wires", window)
    added.setShortcut(QKeySequence("Ctrl+Alt+W"))
    window.addAction(added)
    window.actions_["shortcuts"].trigger()
    listed = dict(window.help.dialog.listed())
    assert listed["Flip the Wires"] == QKeySequence("Ctrl+Alt+W").toString(
        QKeySequence.SequenceFormat.NativeText)
    for name in ("undo", "save", "presentation", "zoom_fit", "export"):
        act = window.actions_[name]
        text = act.text().replace("&", "")
        assert text in listed, text
        assert act.shortcuts()[0].toString(QKeySequence.SequenceFormat.NativeText) in listed[text]
    assert "Step" in listed and "F10" in listed["Step"]  # the step bar's own actions


def test_keyboard_shortcuts_names_an_action_whose_text_changes_by_its_stable_name(qtbot):
    window, _answers = make_window(qtbot)
    node = next(iter(window.editor.doc.nodes))
    window.editor.rename(node, "renamed_once")
    window.editor.rename("renamed_once", "renamed_twice")
    window.actions_["undo"].trigger()  # Undo and Redo now both name a rename
    assert "renamed_" in window.actions_["redo"].text()
    assert "renamed_" in window.actions_["undo"].text()
    window.stepping.bar.play_action.setText("Pause")  # as while playing
    window.actions_["shortcuts"].trigger()
    listed = dict(window.help.dialog.listed())
    ctrl_z = QKeySequence("Ctrl+Z").toString(QKeySequence.SequenceFormat.NativeText)
    assert listed["Undo"] == ctrl_z and "Redo" in listed and "Play / Pause" in listed
    assert not [name for name in listed if "renamed_" in name or name == "Pause"]


def test_the_tour_is_never_shown_by_the_window_itself(qtbot):
    window, _answers = make_window(qtbot)
    settle()
    assert not shown_tours(window)


def test_the_tour_shows_once_can_be_skipped_and_reopened(qtbot):
    window, _answers = make_window(qtbot)
    shown = tour.offer_on_first_launch(window)
    assert shown is not None and shown.isVisible()
    titles = []
    for _ in range(3):
        titles.append(shown.heading.text())
        shown.next.click()
    assert titles == [stop.title for stop in tour.STOPS[:3]]
    assert "F10" in tour.STOPS[2].text
    shown.skip.click()
    settle()
    assert not shown_tours(window)
    assert settings().value(tour.SEEN_KEY) in (True, "true")
    assert tour.offer_on_first_launch(window) is None  # seen: not again
    window.actions_["tour"].trigger()
    (again,) = shown_tours(window)
    assert again.index == 0 and again.heading.text() == tour.STOPS[0].title


def test_help_opens_again_after_the_tour_deleted_itself(qtbot):
    window, _answers = make_window(qtbot)
    window.actions_["tour"].trigger()
    (shown,) = shown_tours(window)
    shown.skip.click()
    qtbot.waitUntil(lambda: window.help.dialog is None)  # the tour is gone
    window.actions_["notation"].trigger()
    assert window.help.dialog is not None and window.help.dialog.isVisible()
    window.actions_["shortcuts"].trigger()
    assert window.help.dialog.isVisible()


def test_notation_names_the_lectures_symbols_and_every_op(qtbot):
    window, _answers = make_window(qtbot)
    window.actions_["notation"].trigger()
    text = window.help.dialog.text.toPlainText()
    for symbol in ("z_H = W_H x + b_H", "U[i1, i2, n]", "Z[i1, i2, m]", "W[k1, k2, n, m]",
                   "∂J/∂W[k1,k2,n,m]"):
        assert symbol in text
    assert all(name in text for name, cls in OPS.items() if cls.formula)


def test_the_tours_stop_at_the_panels_shows_them_before_any_pass(qtbot):
    window, _answers = make_window(qtbot)
    docks = window.stepping.docks
    assert window.workspace.built is None and not docks["tensors"].isVisible()
    window.actions_["tour"].trigger()
    (shown,) = shown_tours(window)
    stop = next(k for k, s in enumerate(tour.STOPS) if s.target == "docks")
    shown.go(stop)
    settle()
    assert docks["tensors"].isVisible() and docks["formula"].isVisible()
    spot = tour.target_rect(window, "docks")
    for name in ("tensors", "formula"):  # the outline holds both panels, where they are
        dock = docks[name]
        where = QRect(dock.mapTo(window, QPoint(0, 0)), dock.size())
        assert spot.contains(where), name
    assert "empty until the first F10" in shown.body.text()
    hit = window.childAt(shown.mapTo(window, shown.card.geometry().center()))
    assert hit is shown.card or shown.card.isAncestorOf(hit)  # raised over the panels
    assert not shown.card.geometry().intersects(spot)  # and beside them, not over them
    assert window.workspace.built is None  # shown, not built


@pytest.mark.parametrize("size", [(1024, 640), (1920, 1080)])
def test_no_stop_of_the_tour_covers_what_it_points_at(qtbot, size):
    window, _answers = make_window(qtbot, TINY_CNN)
    window.resize(*size)
    window.actions_["tour"].trigger()
    (shown,) = shown_tours(window)
    for index, stop in enumerate(tour.STOPS):
        shown.go(index)
        settle()
        spot = tour.target_rect(window, stop.target)
        card = shown.card.geometry()
        assert spot != window.rect(), stop.target  # the part is in sight
        assert shown.rect().contains(card), stop.title  # the card whole in the window
        assert not card.intersects(spot), (stop.title, card, spot)


def test_return_presses_next_as_space_does(qtbot):
    window, _answers = make_window(qtbot)
    window.actions_["tour"].trigger()
    (shown,) = shown_tours(window)
    for key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
        before = shown.index
        qtbot.keyClick(shown.next, key)
        settle()
        assert shown.index == before + 1, key


def test_the_tours_export_stop_names_the_slide_deck():
    (stop,) = [stop for stop in tour.STOPS if stop.target == "menu"]
    assert "slide deck" in stop.text.lower() and "bpviz export --deck" in stop.text


def ink(html_text: str, width: int = 160, height: int = 60) -> np.ndarray:
    """Where `html_text`, drawn as the notation dialog draws it in `width` pixels,
    puts dark pixels."""
    document = QTextDocument()
    document.setHtml(html_text)
    document.setTextWidth(width)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    document.drawContents(painter)
    painter.end()
    grey = np.array([[QColor(image.pixel(x, y)).lightness() for x in range(width)]
                     for y in range(height)])
    return grey < 128


def test_notation_draws_the_hat_on_its_letter(qtbot):
    window, _answers = make_window(qtbot)
    window.actions_["notation"].trigger()
    assert notation.math_html(OPS["batchnorm"].formula) in notation.notation_html()
    letter, hatted = ink(notation.math_html("x")), ink(notation.math_html("x̂"))
    hat = hatted & ~letter
    assert hat.any()  # drawn at all
    rows, cols = np.nonzero(hat)
    letter_rows, letter_cols = np.nonzero(letter)
    assert rows.max() < letter_rows.min()  # above the x
    assert letter_rows.min() - rows.max() <= 4  # and close to it
    assert letter_cols.min() - 1 <= cols.min() and cols.max() <= letter_cols.max() + 1


def test_notation_leaves_room_between_a_formulas_lines(qtbot):
    """A hat on the second line clears the subscript's underscore of the first."""
    lines = ink(notation.formula_html("ŷ_ik ŷ_ik ŷ_ik"), width=70, height=80).any(axis=1)
    inked = np.flatnonzero(lines)
    starts = [row for row in inked if not lines[row - 1]]
    assert len(starts) >= 2  # the formula wrapped
    gap = starts[1] - np.flatnonzero(lines[:starts[1]]).max() - 1
    assert gap >= 3, gap


def test_esc_closes_the_help_windows(qtbot):
    window, _answers = make_window(qtbot)
    for name in ("notation", "shortcuts"):
        window.actions_[name].trigger()
        dialog = window.help.dialog
        qtbot.waitExposed(dialog)
        focused = dialog.focusWidget() or dialog
        qtbot.keyClick(focused, Qt.Key.Key_Escape)
        assert not dialog.isVisible(), name
