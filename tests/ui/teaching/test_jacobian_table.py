"""The full Jacobian's numbers stay whole in a narrow formula panel: every table
cell is laid out on one line (0.1035 never becomes "0." / "10" / "3" / "5")."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtGui import QTextTable  # noqa: E402

from bpviz.ui.stepping import FormulaPanel  # noqa: E402
from tests.engine.stepping_graphs import example_session  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402


def cell_lines(document) -> list[tuple[str, int]]:
    """(text, lines laid out) of every cell of every table in `document`."""
    found = []
    for frame in document.rootFrame().childFrames():
        if not isinstance(frame, QTextTable):
            continue
        for row in range(frame.rows()):
            for column in range(frame.columns()):
                cell = frame.cellAt(row, column)
                block = cell.firstCursorPosition().block()
                found.append((block.text(), block.layout().lineCount()))
    return found


@pytest.mark.parametrize("width", [260, 420])
def test_jacobian_numbers_are_never_broken(qtbot, width):
    session = example_session("two_layer_classifier")
    session.seek(next(i for i, s in enumerate(session.steps)
                      if s.node == "hidden" and s.phase == "backward"))
    panel = FormulaPanel()
    qtbot.addWidget(panel)
    panel.resize(width, 500)
    panel.show()
    qtbot.waitExposed(panel)
    panel.set_step(session.current, session.network)
    panel.jacobian_button.click()
    settle()
    cells = cell_lines(panel.text.document())
    assert len(cells) > 20
    broken = [text for text, lines in cells if lines != 1]
    assert not broken, broken
