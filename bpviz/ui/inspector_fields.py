"""One editing widget per hyperparameter kind, built from the op's Hyper spec.

Every field has `value()` (the value as a graph file writes it; None for
"derived" or "not set"), `set_value(v)` (no signal) and the signal `edited`,
emitted once per finished change (Enter, focus out, an arrow click, a toggle).
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from bpviz.engine import Hyper

INT_LIMIT = 2**31 - 1
FLOAT_LIMIT = 1e12


def parse_shape(text: str) -> list[int]:
    """ "1, 8, 8" or "1×8×8" → [1, 8, 8]; ValueError with a readable message."""
    pieces = [p for p in re.split(r"[\s,×xX*]+", text.strip()) if p]
    if not pieces or not all(re.fullmatch(r"[+-]?\d+", p) for p in pieces):
        raise ValueError(f"a shape is 1 to 3 whole numbers like 1, 8, 8, got {text!r}")
    return [int(p) for p in pieces]


class Field(QWidget):
    """Base: a row widget for one Hyper."""

    edited = Signal()

    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.setToolTip(spec.doc)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError


def _int_spin(spec: Hyper, nullable: bool, text: str) -> QSpinBox:
    spin = QSpinBox()
    low = int(spec.minimum) if spec.minimum is not None else -INT_LIMIT + 1
    high = int(spec.maximum) if spec.maximum is not None else INT_LIMIT
    if nullable:
        low -= 1  # the lowest value stands for None
        spin.setSpecialValueText(text)
    spin.setRange(low, high)
    spin.setKeyboardTracking(False)
    spin.setAccelerated(True)
    narrow(spin)
    return spin


def narrow(widget: QWidget) -> None:
    """Let the form decide the width (a spin box up to 2³¹ would ask for a lot)."""
    widget.setMinimumWidth(64)
    widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)


class IntField(Field):
    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.nullable = spec.default is None and not spec.required
        self.spin = _int_spin(spec, self.nullable, "auto")
        self.layout_.addWidget(self.spin)
        self.spin.valueChanged.connect(lambda _v: self.edited.emit())

    def value(self) -> int | None:
        if self.nullable and self.spin.value() == self.spin.minimum():
            return None
        return self.spin.value()

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(self.spin.minimum() if value is None else int(value))
        self.spin.blockSignals(False)


class FloatSpin(QDoubleSpinBox):
    """Shows 1e-05 and 0.1 as written, not 0.00001000."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.8g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text.replace(",", "."))
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int):
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return QValidator.State.Intermediate, text, pos
        ok = math.isfinite(number) and self.minimum() <= number <= self.maximum()
        return (QValidator.State.Acceptable if ok else QValidator.State.Intermediate), text, pos


class FloatField(Field):
    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.spin = FloatSpin()
        self.spin.setDecimals(12)
        low = spec.minimum if spec.minimum is not None else -FLOAT_LIMIT
        high = spec.maximum if spec.maximum is not None else FLOAT_LIMIT
        self.spin.setRange(float(low), float(high))
        default = spec.default if isinstance(spec.default, (int, float)) else 0.1
        self.spin.setSingleStep(10 ** math.floor(math.log10(abs(default))) if default else 0.1)
        self.spin.setKeyboardTracking(False)
        narrow(self.spin)
        self.layout_.addWidget(self.spin)
        self.spin.valueChanged.connect(lambda _v: self.edited.emit())

    def value(self) -> float:
        return float(self.spin.value())

    def set_value(self, value: Any) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(float(value if value is not None else 0.0))
        self.spin.blockSignals(False)


class BoolField(Field):
    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.box = QCheckBox()
        self.layout_.addWidget(self.box)
        self.box.toggled.connect(lambda _v: self.edited.emit())

    def value(self) -> bool:
        return self.box.isChecked()

    def set_value(self, value: Any) -> None:
        self.box.blockSignals(True)
        self.box.setChecked(bool(value))
        self.box.blockSignals(False)


class ChoiceField(Field):
    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.combo = QComboBox()
        for choice in spec.choices:
            self.combo.addItem(str(choice), choice)
        self.layout_.addWidget(self.combo)
        self.combo.activated.connect(lambda _i: self.edited.emit())

    def value(self) -> Any:
        return self.combo.currentData()

    def set_value(self, value: Any) -> None:
        self.combo.blockSignals(True)
        index = self.combo.findData(value)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)


class PairField(Field):
    """Two spin boxes, h and w; writes an int when h == w."""

    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.nullable = spec.default is None and not spec.required
        self.h = _int_spin(spec, self.nullable, "auto")
        self.w = _int_spin(spec, self.nullable, "auto")
        self.h.setToolTip(f"{spec.doc} (height)")
        self.w.setToolTip(f"{spec.doc} (width)")
        self.layout_.addWidget(self.h, 1)
        self.layout_.addWidget(QLabel("×"), 0)
        self.layout_.addWidget(self.w, 1)
        self.h.valueChanged.connect(lambda _v: self._changed(self.h, self.w))
        self.w.valueChanged.connect(lambda _v: self._changed(self.w, self.h))

    def _changed(self, source: QSpinBox, other: QSpinBox) -> None:
        # "auto" is one value for both axes: leaving or entering it moves both.
        if self.nullable:
            auto = source.minimum()
            if (source.value() == auto) != (other.value() == auto):
                other.blockSignals(True)
                other.setValue(source.value())
                other.blockSignals(False)
        self.edited.emit()

    def value(self) -> int | list[int] | None:
        h, w = self.h.value(), self.w.value()
        if self.nullable and h == self.h.minimum():
            return None
        return h if h == w else [h, w]

    def set_value(self, value: Any) -> None:
        if value is None:
            h = w = self.h.minimum()
        elif isinstance(value, (list, tuple)):
            h, w = int(value[0]), int(value[1])
        else:
            h = w = int(value)
        for spin, number in ((self.h, h), (self.w, w)):
            spin.blockSignals(True)
            spin.setValue(number)
            spin.blockSignals(False)


class ShapeField(Field):
    """A line edit like "1, 8, 8"; `value` raises ValueError for text that is no shape."""

    def __init__(self, spec: Hyper, parent: QWidget | None = None) -> None:
        super().__init__(spec, parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("C, H, W  or  features")
        self.layout_.addWidget(self.edit)
        self._shown = ""
        self.edit.editingFinished.connect(self._finished)

    def _finished(self) -> None:
        if self.edit.text() != self._shown:
            self.edited.emit()

    def value(self) -> list[int]:
        return parse_shape(self.edit.text())

    def set_value(self, value: Any) -> None:
        self._shown = "" if value is None else ", ".join(str(v) for v in value)
        self.edit.setText(self._shown)


FIELD_TYPES: dict[str, type[Field]] = {
    "int": IntField, "float": FloatField, "bool": BoolField, "choice": ChoiceField,
    "pair": PairField, "shape": ShapeField,
}


def make_field(spec: Hyper, parent: QWidget | None = None) -> Field:
    return FIELD_TYPES[spec.kind](spec, parent)
