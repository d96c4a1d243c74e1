"""The explained entry in the Formula panel: its sum as text, what it reads, every term.

ExplanationBox shows the entry's explanation numbers first (`box_text`: the sum
with the first terms' numbers and "… and N more terms", the same terms with
their labels, the formula at its index; the heading names the entry and its
value), so the numbers are in sight in a box of a few lines; a line of the
tensors it reads (links: EntryLink shows their tab, moving the pass to a step
that shows it when the one in sight does not), and on demand every term in a
scrolling list (TermModel formats a row only when it is drawn, so 50,000 terms
cost nothing until they are scrolled to).
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListView,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine.explain import Explanation
from bpviz.engine.explain_text import SHOWN, joined, number_text, term_labels, term_numbers
from bpviz.ui.stepping.formula_panel import formula_font
from bpviz.workspace.entry import ChosenEntry

if TYPE_CHECKING:
    from bpviz.ui.stepping.entry_view import EntryExplained

POINT_SIZE_TERMS = 10


def box_text(explanation: Explanation, shown: int = SHOWN) -> str:
    """The sum in numbers first, then in labels, the formula and the note:

        0.04213 = 0.01234 + (−0.0005678) + … and 254 more terms
          = ∂L/∂Z[0,2,0,0] + ∂L/∂Z[0,2,0,1] + … and 254 more terms
        ∂L/∂b[2] = Σ_{i1,i2} ∂L/∂Z[i1,i2,2], summed over the batch (N = 4)
    """
    terms, total = explanation.terms[:shown], len(explanation.terms)
    value = number_text(explanation.sum)
    if terms:
        lines = [f"{value} = " + joined([term_numbers(t) for t in terms], total),
                 "  = " + joined([term_labels(t) for t in terms], total)]
    else:
        lines = [f"{value}   (0 terms)"]
    lines.append(explanation.formula)
    if explanation.note:
        lines.append(f"note: {explanation.note}")
    return "\n".join(lines)


class TermModel(QAbstractListModel):
    """Every term of an explanation, one a row, formatted when it is drawn."""

    def __init__(self) -> None:
        super().__init__()
        self.terms: tuple = ()

    def set_terms(self, terms: tuple) -> None:
        self.beginResetModel()
        self.terms = terms
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.terms)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or not 0 <= index.row() < len(self.terms):
            return None
        term = self.terms[index.row()]
        return (f"{index.row() + 1:>6}  {term_labels(term)} = {term_numbers(term)} = "
                f"{number_text(term.value)}")


class ExplanationBox(QWidget):
    """The explained entry in the Formula panel: its text, what it reads, every term."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("entry_explanation")
        self.heading = QLabel()
        self.heading.setObjectName("entry_heading")
        self.heading.setWordWrap(True)
        self.heading.setToolTip("the arrow keys and Page Up/Down move the entry, Esc clears it")
        self.text = QTextBrowser()
        self.text.setObjectName("entry_text")
        self.text.setFont(formula_font())
        self.text.setLineWrapMode(QTextBrowser.LineWrapMode.WidgetWidth)
        self.reads = QLabel()
        self.reads.setObjectName("entry_reads")
        self.reads.setWordWrap(True)
        self.reads.setTextFormat(Qt.TextFormat.RichText)
        self.all_terms = QPushButton()
        self.all_terms.setObjectName("entry_all_terms")
        self.all_terms.setCheckable(True)
        self.all_terms.toggled.connect(self._show_terms)
        self.clear_button = QPushButton("Clear (Esc)")
        self.clear_button.setObjectName("entry_clear")
        self.model = TermModel()
        self.terms = QListView()
        self.terms.setObjectName("entry_terms")
        self.terms.setUniformItemSizes(True)
        self.terms.setFont(formula_font(POINT_SIZE_TERMS))
        self.terms.setModel(self.model)
        self.terms.hide()
        below = QHBoxLayout()  # one row, to leave the text the room in a short panel
        below.addWidget(self.reads, 1)
        below.addWidget(self.all_terms, 0, Qt.AlignmentFlag.AlignTop)
        below.addWidget(self.clear_button, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.text, 2)
        layout.addLayout(below)
        layout.addWidget(self.terms, 3)
        self.explained: EntryExplained | None = None
        self.hide()

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def show_waiting(self, entry: ChosenEntry) -> None:
        self.explained = None
        self.heading.setText(f"<b>{entry.text()}</b> · explaining…")
        self.text.setPlainText(f"explaining {entry.text()}…")
        self.reads.setText("")
        self.all_terms.hide()
        self.model.set_terms(())
        self.show()

    def show_failure(self, entry: ChosenEntry, message: str) -> None:
        self.explained = None
        self.heading.setText(f"<b>{entry.text()}</b>")
        self.text.setPlainText(f"cannot explain {entry.text()}: {message}")
        self.reads.setText("")
        self.all_terms.hide()
        self.show()

    def show_explained(self, explained: EntryExplained) -> None:
        """The explanation; every tensor it reads is a link (EntryLink shows it)."""
        self.explained = explained
        explanation = explained.explanation
        total = len(explanation.terms)
        self.heading.setText(f"<b>{explained.entry.text()}</b> = "
                             f"{number_text(explanation.value)} · {total:,} "
                             f"term{'s' * (total != 1)}")
        self.text.setPlainText(box_text(explanation))
        self.fit_numbers()
        parts = []
        for key in explained.reads:
            parts.append(f"<a href='{html.escape(key)}'>{html.escape(key)}</a> "
                         f"({explained.counts[key]:,})")
        self.reads.setText("reads " + " · ".join(parts) if parts else "reads no other entry")
        self.model.set_terms(explanation.terms)
        self.all_terms.setVisible(total > 1)
        self.all_terms.setText(f"{'Hide' if self.all_terms.isChecked() else 'All'} "
                               f"{total:,} terms")
        self.show()

    def fit_numbers(self) -> None:
        """Keep the value and the sum in numbers (the text's first line, however it wraps)
        in sight: the box takes that room from the step's formula."""
        document = self.text.document()
        document.setTextWidth(self.text.viewport().width())
        first = document.documentLayout().blockBoundingRect(document.firstBlock()).height()
        frame = 2 * (self.text.frameWidth() + document.documentMargin())
        self.text.setMinimumHeight(round(first + frame))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.explained is not None:
            self.fit_numbers()

    def _show_terms(self, on: bool) -> None:
        self.terms.setVisible(on)
        if self.explained is not None:
            total = len(self.explained.explanation.terms)
            self.all_terms.setText(f"{'Hide' if on else 'All'} {total:,} terms")

    def clear(self) -> None:
        self.explained = None
        self.model.set_terms(())
        self.hide()
