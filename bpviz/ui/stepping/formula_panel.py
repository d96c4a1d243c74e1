"""The formula of the current step: the chain rule in the lecture's notation, with shapes.

FormulaPanel shows describe_step's title, lines and the size of the full
Jacobian the backward pass avoids. For a tiny node (every tensor ≤ 16
numbers per sample) a button reveals that Jacobian, built for real, as a
table per input and parameter, for the sample chosen with `set_sample`.
The text takes the theme's colours and is rewritten when the theme changes.
"""

from __future__ import annotations

import html

import numpy as np
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from bpviz.engine.executor import Network, Step
from bpviz.engine.formulas import (
    JacobianBlock,
    StepFormula,
    describe_step,
    full_jacobian,
    is_tiny,
)
from bpviz.engine.shape_text import shape_text
from bpviz.scene.theme import current_theme, theme_manager

FONT_FAMILIES = ["DejaVu Sans Mono", "Menlo", "Consolas", "Noto Sans Mono", "monospace"]
POINT_SIZE = 12


def formula_font(point_size: int = POINT_SIZE) -> QFont:
    font = QFont()
    font.setFamilies(FONT_FAMILIES)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(point_size)
    return font


class FormulaPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.step: Step | None = None
        self.network: Network | None = None
        self.formula: StepFormula | None = None
        self.sample = 0
        self.title = QLabel()
        self.title.setObjectName("formula_title")
        title_font = formula_font(POINT_SIZE + 1)
        title_font.setBold(True)
        self.title.setFont(title_font)
        self.text = QTextBrowser()
        self.text.setObjectName("formula_text")
        self.text.setFont(formula_font())
        self.text.setOpenLinks(False)
        self.jacobian_button = QPushButton("Show the full Jacobian")
        self.jacobian_button.setObjectName("formula_jacobian_button")
        self.jacobian_button.setCheckable(True)
        self.jacobian_button.toggled.connect(self._render)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.jacobian_button)
        self.set_step(None)
        theme_manager().changed.connect(self._render)

    def add_above(self, widget: QWidget, stretch: int = 0) -> None:
        """Put `widget` between the title and the step's formula (the entry explained);
        the step's formula gives it the room, down to a line and a half (it scrolls)."""
        self.layout().insertWidget(1, widget, stretch)
        self.text.setMinimumHeight(round(1.5 * self.text.fontMetrics().lineSpacing())
                                   + 2 * self.text.frameWidth())

    def set_step(self, step: Step | None, network: Network | None = None) -> None:
        self.step, self.network = step, network
        self.formula = describe_step(step, network) if step is not None and network else None
        self.jacobian_button.setVisible(self.has_jacobian())
        self._render()

    def set_sample(self, sample: int) -> None:
        self.sample = sample
        if self.jacobian_button.isChecked():
            self._render()

    def has_jacobian(self) -> bool:
        return (self.step is not None and self.network is not None and bool(self.step.inputs)
                and is_tiny(self.step, self.network))

    def jacobian_blocks(self) -> list[JacobianBlock]:
        if not self.has_jacobian():
            return []
        batch = self.step.inputs[0].shape[0]
        return full_jacobian(self.step, self.network, min(self.sample, batch - 1))

    def plain_text(self) -> str:
        return self.text.toPlainText()

    def _render(self, *_) -> None:
        if self.formula is None:
            self.title.setText("Formula")
            self.text.setHtml("<p>Step through a pass (F10) to see each node's chain rule "
                              "here.</p>")
            return
        self.title.setText(self.formula.title)
        parts = [line_html(line) for line in self.formula.lines]
        shown = self.jacobian_button.isChecked() and self.has_jacobian()
        jacobian = self.formula.jacobian + (" (built below for this one sample, to look at)"
                                            if shown else "")
        parts.append(f"<p style='margin:8px 0 0 24px; text-indent:-24px; "
                     f"color:{current_theme().muted}'><i>"
                     f"{html.escape(jacobian)}</i></p>")
        if shown:
            parts.append(self._jacobian_html())
        self.jacobian_button.setText("Hide the full Jacobian" if self.jacobian_button.isChecked()
                                     else "Show the full Jacobian")
        self.text.setHtml("".join(parts))

    def _jacobian_html(self) -> str:
        blocks = self.jacobian_blocks()
        loss = " (L of the whole batch)" if self.step.output.ndim == 0 else ""
        parts = [f"<p style='margin-top:10px'><b>Full Jacobian, sample {self.sample}"
                 f"{loss}</b>: row = output element, column = input element (C order)</p>"]
        for block in blocks:
            parts.append(f"<p style='margin:6px 0 2px 0'>{html.escape(block.name)}: "
                         f"{shape_text(block.out_shape)} × {shape_text(block.in_shape)}</p>")
            parts.append(matrix_html(block.matrix))
        return "".join(parts)


MUTED_PREFIXES = ("upstream ", "start of backward", "shapes in the lecture's order",
                  "stride s =", "the lecture's conv slides")


def line_html(line: str) -> str:
    """One formula line; a wrapped line hangs, context lines are muted."""
    theme = current_theme()
    colour = theme.muted if line.startswith(MUTED_PREFIXES) else theme.text
    return (f"<p style='margin:3px 0 3px 24px; text-indent:-24px; color:{colour}'>"
            f"{html.escape(line)}</p>")


def matrix_html(matrix: np.ndarray) -> str:
    """A small matrix as an HTML table, zeros greyed out."""
    theme = current_theme()
    rows = []
    for row in matrix:
        cells = []
        for value in row:
            colour = theme.muted if value == 0 else theme.text
            cells.append(f"<td align='right' style='padding:1px 6px; white-space:nowrap; "
                         f"color:{colour}'>"
                         f"{value:.4g}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f"<table cellspacing='0' style='border-left:1px solid {theme.muted}; "
            f"border-right:1px solid {theme.muted}'>" + "".join(rows) + "</table>")
