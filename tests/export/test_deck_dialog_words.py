"""The slide deck in the Export dialog: its words readable in the dark theme, a size
line that says what the deck holds, and a title slide in plain English."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QColor  # noqa: E402

from bpviz.export.deck import plan_deck  # noqa: E402
from bpviz.scene.theme import DARK, theme_manager  # noqa: E402
from bpviz.ui.export_dialog import ExportDialog  # noqa: E402
from tests.export.helpers import TINY, session_for  # noqa: E402
from tests.ui.test_theme_icons import contrast  # noqa: E402

WCAG_TEXT = 4.5


def test_the_title_slide_names_the_phases_in_plain_english():
    document, *_, session = session_for(TINY)
    lines = plan_deck(document, session).title_slide.lines
    assert lines[0].startswith("The forward and backward passes, step by step")
    forward = plan_deck(document, session, phase="forward").title_slide.lines
    assert forward[0].startswith("The forward pass, step by step")


def test_the_deck_preview_is_readable_on_dark_and_the_size_counts_slides(qtbot):
    document, *_, session = session_for(TINY)
    theme_manager().set_theme("dark")
    try:
        widget = ExportDialog(document, session=session)
        qtbot.addWidget(widget)
        widget.set_kind("deck_pdf")
        widget.resize(900, 500)
        widget.show()
        qtbot.waitExposed(widget)
        image = widget.preview.grab().toImage()
        background = image.pixelColor(2, 2)
        best = max(contrast(image.pixelColor(x, y), background)
                   for x in range(0, image.width(), 2) for y in range(0, image.height(), 2))
        assert best >= WCAG_TEXT
        assert background == QColor(DARK.base)
        assert widget.size_label.text().startswith(f"{len(session.steps) + 1} slides")
    finally:
        theme_manager().set_theme("light")
