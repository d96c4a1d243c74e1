"""A spin box for learning rates from 1e-05 to 1e+06, written as people write them.

The value shows in a compact form (`compact`): plainly below COMPACT_FROM
("0.01", "100", "5000"), with a power of ten from there on ("1e+05", "2.5e+04")
and below 1e-04 ("1e-05"); it may be typed either way ("1e5" too). The arrows
step by about a tenth of the value's own power of ten. A number out of range is
never clamped in silence: the box keeps its value and `out_of_range` says what
was refused; `accepted` says that editing ended on a learning rate in range.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox

LR_MIN, LR_MAX = 1e-5, 1e6
COMPACT_FROM = 1e4  # from here on the value shows with a power of ten
DIGITS = 6  # significant digits shown


def compact(value: float) -> str:
    """`value` in at most DIGITS significant digits: 0.003, 5000, 1e+05, 2.5e-05."""
    if value == 0 or 1e-4 <= abs(value) < COMPACT_FROM:
        return f"{value:.{DIGITS}g}"
    mantissa, exponent = f"{value:.{DIGITS - 1}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{exponent}"


def parse(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class LearningRateBox(QDoubleSpinBox):
    out_of_range = Signal(str)  # "learning rate 1e+07 is out of range: it can be …"
    accepted = Signal(float)  # editing ended on a learning rate in range

    def __init__(self, value: float, tip: str, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # QDoubleSpinBox rounds to these; the text shows fewer
        self.setRange(LR_MIN, LR_MAX)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setKeyboardTracking(False)
        self.setValue(value)
        self.setToolTip(f"{tip}; {compact(LR_MIN)} to {compact(LR_MAX)}, e.g. 0.01 or 1e5")
        self._refused = False  # the editing that is ending was refused (fixup)
        self.editingFinished.connect(self._editing_finished)
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.000125") + 36)

    def textFromValue(self, value: float) -> str:
        return compact(value)

    def valueFromText(self, text: str) -> float:
        value = parse(text)
        return self.value() if value is None else value

    def validate(self, text: str, pos: int):
        value = parse(text)
        if value is None:  # "1e" or "" may become a number, "x" never
            typing = parse(text.strip() + "1") is not None
            state = QValidator.State.Intermediate if typing else QValidator.State.Invalid
        elif LR_MIN <= value <= LR_MAX:
            state = QValidator.State.Acceptable
        else:
            state = QValidator.State.Intermediate  # typed on, or refused at the end
        return state, text, pos

    def fixup(self, text: str) -> str:
        """Editing ended on text that is not a learning rate in range: say so (the box
        then goes back to its value)."""
        self._refused = True
        value = parse(text)
        if value is not None:
            self.out_of_range.emit(f"learning rate {compact(value)} is out of range: "
                                   f"it can be {compact(LR_MIN)} to {compact(LR_MAX)}")
        return text

    def _editing_finished(self) -> None:
        refused, self._refused = self._refused, False
        if not refused:
            self.accepted.emit(self.value())
