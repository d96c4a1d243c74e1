"""ElidedLabel: a label that gives up room without hiding its text, so a toolbar keeps
its other widgets in sight in a narrow window.

Narrower than WRAP_CHARACTERS average characters it has two lines and wraps its
text there (after a " · " where both lines then fit, else after a space); only
what does not fit even so is elided (…). Its height depends on its width alone, so the
toolbar does not jump from step to step. The whole text is its tooltip while
cut, and `text()`.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy

MIN_CHARACTERS = 16  # what it shrinks to, in average characters
WRAP_CHARACTERS = 64  # narrower than this, in average characters, it has two lines
SEPARATOR = " · "


class ElidedLabel(QLabel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self._lines = 1

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setToolTip(text if self.is_elided() else "")

    def line_count(self) -> int:
        """How many lines the label has at its width (1 or 2)."""
        return self._lines

    def _lines_for(self, width: int) -> int:
        return 2 if width < self.fontMetrics().averageCharWidth() * WRAP_CHARACTERS else 1

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        width = self.fontMetrics().averageCharWidth() * MIN_CHARACTERS
        return QSize(width, self._height())

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(super().sizeHint().width(), self._height())

    def _height(self) -> int:
        margins = self.contentsMargins()
        return (self.fontMetrics().lineSpacing() * self._lines + margins.top()
                + margins.bottom() + 2)

    def _layout(self) -> tuple[list[str], bool]:
        """The lines as painted, and whether the last one was elided."""
        metrics, width, text = self.fontMetrics(), self.contentsRect().width(), self.text()
        if self._lines == 1 or metrics.horizontalAdvance(text) <= width:
            first, rest = "", text
        else:
            first = _first_line(text, lambda part: metrics.horizontalAdvance(part) <= width)
            rest = text[len(first):].lstrip()
        last = metrics.elidedText(rest, Qt.TextElideMode.ElideRight, width)
        return [line for line in (first.rstrip(), last) if line], last != rest

    def shown_lines(self) -> list[str]:
        """The text as painted: one or two lines, the last elided ('…') if need be."""
        return self._layout()[0]

    def shown_text(self) -> str:
        return "\n".join(self.shown_lines())

    def is_elided(self) -> bool:
        return self._layout()[1]

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        lines = self._lines_for(self.width())
        if lines != self._lines:
            self._lines = lines
            self.updateGeometry()
        self.setToolTip(self.text() if self.is_elided() else "")

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.setFont(self.font())
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_text())


def _first_line(text: str, fits) -> str:
    """Where to break `text` in two: after a SEPARATOR, else after a space, the latest
    such break from which the rest fits too; else the latest after which the first
    line fits (the rest is elided), or the first word, however long."""
    breaks = {mark: [i + len(mark) for i in range(len(text)) if text.startswith(mark, i)]
              for mark in (SEPARATOR, " ")}
    for mark in (SEPARATOR, " "):
        for end in reversed(breaks[mark]):
            if fits(text[:end].rstrip()) and fits(text[end:].strip()):
                return text[:end]
    fitting = [end for end in breaks[" "] if fits(text[:end].rstrip())]
    return text[:fitting[-1]] if fitting else text.split(" ", 1)[0]
