"""A spin box for learning rates from 1e-05 to 1e+06, written as people write them.

The value shows in the shortest form ("0.01", "100", "1e+06") and may be typed
so ("1e5" too); the arrows step by about a tenth of the value's own power of
ten. A number out of range is never clamped in silence: the box keeps its
value and `out_of_range` says what was refused.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QAbstractSpinBox, QDoubleSpinBox

LR_MIN, LR_MAX = 1e-5, 1e6


def parse(text: str) -> float | None:
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


class LearningRateBox(QDoubleSpinBox):
    out_of_range = Signal(str)  # "1e+07 is out of range: the learning rate is 1e-05 … 1e+06"

    def __init__(self, value: float, tip: str, parent=None) -> None:
        super().__init__(parent)
        self.setDecimals(12)  # QDoubleSpinBox rounds to these; the text shows fewer
        self.setRange(LR_MIN, LR_MAX)
        self.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.setCorrectionMode(QAbstractSpinBox.CorrectionMode.CorrectToPreviousValue)
        self.setKeyboardTracking(False)
        self.setValue(value)
        self.setToolTip(f"{tip}; {LR_MIN:g} to {LR_MAX:g}, e.g. 0.01 or 1e5")
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.000125") + 36)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

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
        value = parse(text)
        if value is not None:
            self.out_of_range.emit(f"learning rate {value:g} is out of range: "
                                   f"it can be {LR_MIN:g} to {LR_MAX:g}")
        return text
