"""A step's caption in a picture: its title, its formula with shapes, and an aside.

The formula lines (describe_step's `caption`) share one font size: the largest
from FORMULA_POINTS down to MIN_POINTS at which the widest of them fits the
picture. A line still too wide at MIN_POINTS wraps, between its clauses where
it can, so nothing of a formula is cut off. The title and the aside (where the upstream gradient
comes from, muted) are shortened with "…" if they are too wide.

`height` is the room the caption needs. An animation gives every frame the
largest height of all its frames, so the frames line up.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

TITLE_POINTS = 13.0
FORMULA_POINTS = 12.0
MIN_POINTS = 9.0
ASIDE_POINTS = 11.0
TOP, TITLE_GAP, BOTTOM = 8.0, 6.0, 10.0


def font(points: float, bold: bool = False) -> QFont:
    result = QFont()
    result.setPointSizeF(points)
    result.setBold(bold)
    return result


@dataclass(frozen=True)
class CaptionRow:
    text: str
    font: QFont
    muted: bool
    indent: float = 0.0  # a wrapped line's later rows hang

    @property
    def height(self) -> float:
        return QFontMetricsF(self.font).lineSpacing()


class CaptionLayout:
    """The rows of one step's caption in a picture `width` figure pixels wide."""

    def __init__(self, title: str, lines: tuple[str, ...], aside: str, width: float) -> None:
        self.width = width
        self.rows = [CaptionRow(_elided(title, font(TITLE_POINTS, True), width),
                                font(TITLE_POINTS, True), False)]
        formula_font = font(self.formula_points(lines))
        hang = QFontMetricsF(formula_font).horizontalAdvance("M") * 2
        for line in lines:
            rows = ([line] if _text_width(line, formula_font) <= width
                    else _wrapped(line, formula_font, width - hang))
            self.rows += [CaptionRow(row, formula_font, False, hang if k else 0.0)
                          for k, row in enumerate(rows)]
        if aside:
            aside_font = font(min(ASIDE_POINTS, formula_font.pointSizeF()))
            self.rows.append(CaptionRow(_elided(aside, aside_font, width), aside_font, True))

    def formula_points(self, lines: tuple[str, ...]) -> float:
        """The largest size (in half points) at which every line fits, at least MIN_POINTS."""
        points = FORMULA_POINTS
        while points > MIN_POINTS and any(_text_width(line, font(points)) > self.width
                                          for line in lines):
            points -= 0.5
        return points

    @property
    def height(self) -> float:
        return TOP + sum(row.height for row in self.rows) + TITLE_GAP + BOTTOM

    def paint(self, painter: QPainter, left: float, text: QColor, muted: QColor) -> None:
        top = TOP
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        for index, row in enumerate(self.rows):
            painter.setFont(row.font)
            painter.setPen(muted if row.muted else text)
            ascent = QFontMetricsF(row.font).ascent()
            painter.drawText(QPointF(left + row.indent, top + ascent), row.text)
            top += row.height + (TITLE_GAP if index == 0 else 0.0)
        painter.restore()


def _text_width(text: str, row_font: QFont) -> float:
    return QFontMetricsF(row_font).horizontalAdvance(text)


def _elided(text: str, row_font: QFont, width: float) -> str:
    return QFontMetricsF(row_font).elidedText(text, Qt.TextElideMode.ElideRight, width)


def _wrapped(text: str, row_font: QFont, width: float) -> list[str]:
    """`text` in rows no wider than `width`: broken between its clauses (two spaces
    apart) where it can, else at a space; a word wider than the picture stays whole."""
    rows: list[str] = []
    for clause in text.split("  "):
        joined = f"{rows[-1]}  {clause}" if rows else clause
        if rows and _text_width(joined, row_font) <= width:
            rows[-1] = joined
        else:
            rows += _words_wrapped(clause, row_font, width)
    return rows


def _words_wrapped(text: str, row_font: QFont, width: float) -> list[str]:
    rows, current = [], ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and _text_width(candidate, row_font) > width:
            rows.append(current)
            current = word
        else:
            current = candidate
    rows.append(current)
    return rows
