"""The op palette: every registered op, grouped by family, to drag onto the canvas.

Dragging an entry carries the op name as mime type "application/x-bpviz-op";
double-clicking one emits `op_activated(op_name)` (the window adds the node at
the centre of the view). Icons are drawn in code, one colour per family.
"""

from __future__ import annotations

import html
from functools import cache

from PySide6.QtCore import QMimeData, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine import OPS, Op
from bpviz.scene.theme import FAMILY_TITLES, family_colour

OP_MIME = "application/x-bpviz-op"
OP_ROLE = Qt.ItemDataRole.UserRole
ICON_SIZE = 32


# -- icons ---------------------------------------------------------------------
def _glyph(family: str, r: QRectF) -> QPainterPath:
    """A small white drawing that says what the family does."""
    path = QPainterPath()
    x0, y0, w, h = r.x(), r.y(), r.width(), r.height()

    def at(fx: float, fy: float) -> QPointF:
        return QPointF(x0 + fx * w, y0 + fy * h)

    if family == "input":  # an arrow into the graph
        path.moveTo(at(0.15, 0.5)), path.lineTo(at(0.8, 0.5))
        path.moveTo(at(0.55, 0.28)), path.lineTo(at(0.8, 0.5)), path.lineTo(at(0.55, 0.72))
    elif family == "layer":  # a small weight grid
        for f in (0.2, 0.5, 0.8):
            path.moveTo(at(f, 0.2)), path.lineTo(at(f, 0.8))
            path.moveTo(at(0.2, f)), path.lineTo(at(0.8, f))
    elif family == "pooling":  # a funnel: many in, one out
        path.moveTo(at(0.15, 0.25)), path.lineTo(at(0.5, 0.75)), path.lineTo(at(0.85, 0.25))
        path.moveTo(at(0.5, 0.25)), path.lineTo(at(0.5, 0.75))
    elif family == "merge":  # a plus
        path.moveTo(at(0.5, 0.18)), path.lineTo(at(0.5, 0.82))
        path.moveTo(at(0.18, 0.5)), path.lineTo(at(0.82, 0.5))
    elif family == "activation":  # an S-curve
        path.moveTo(at(0.12, 0.78))
        path.cubicTo(at(0.55, 0.78), at(0.45, 0.22), at(0.88, 0.22))
    elif family == "norm":  # a bell
        path.moveTo(at(0.1, 0.78))
        path.cubicTo(at(0.4, 0.78), at(0.35, 0.2), at(0.5, 0.2))
        path.cubicTo(at(0.65, 0.2), at(0.6, 0.78), at(0.9, 0.78))
    elif family == "loss":  # a target
        path.addEllipse(QRectF(at(0.2, 0.2), at(0.8, 0.8)))
        path.addEllipse(QRectF(at(0.42, 0.42), at(0.58, 0.58)))
    else:  # a dot
        path.addEllipse(QRectF(at(0.35, 0.35), at(0.65, 0.65)))
    return path


@cache
def family_icon(family: str, size: int = ICON_SIZE) -> QIcon:
    """A rounded square in the family's colour with its glyph (cached)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    colour = family_colour(family)
    painter.setPen(QPen(colour.darker(130), 1))
    painter.setBrush(colour)
    box = QRectF(1, 1, size - 2, size - 2)
    painter.drawRoundedRect(box, size * 0.2, size * 0.2)
    ink = QColor("#1a1a1a") if colour.lightnessF() > 0.6 else QColor("#ffffff")
    painter.setPen(QPen(ink, max(1.5, size / 14), Qt.PenStyle.SolidLine,
                        Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawPath(_glyph(family, box.adjusted(4, 4, -4, -4)))
    painter.end()
    return QIcon(pixmap)


def op_icon(op_name: str) -> QIcon:
    cls = OPS.get(op_name)
    return family_icon(cls.family if cls else "")


# -- tooltips ------------------------------------------------------------------
def _default_text(spec) -> str:
    if spec.required:
        return "required"
    if spec.default is None:
        return "derived"
    return f"default {spec.default!r}".replace("True", "true").replace("False", "false")


def op_tooltip(cls: type[Op]) -> str:
    """Rich text: what the op computes, its formula and its parameters."""
    e = html.escape
    title = FAMILY_TITLES.get(cls.family, cls.family or "other")
    parts = [f"<b>{e(cls.op_name)}</b> <i>({e(title)})</i>"]
    if cls.summary:
        parts.append(f"<p>{e(cls.summary)}</p>")
    lines = [line for line in (cls.forward_formula, *cls.backward_formula) if line]
    if lines:
        formula = "<br>".join(e(line) for line in lines)
        parts.append(f"<p style='font-family: monospace'>{formula}</p>")
    if cls.hypers:
        rows = "".join(
            f"<tr><td><b>{e(spec.name)}</b></td><td>{e(spec.kind)}, "
            f"{e(_default_text(spec))}</td><td>{e(spec.doc)}</td></tr>"
            for spec in cls.hypers)
        parts.append(f"<table cellspacing='4'>{rows}</table>")
    else:
        parts.append("<p>No parameters.</p>")
    return "<qt>" + "".join(parts) + "</qt>"


# -- the widget ------------------------------------------------------------------
def grouped_ops() -> list[tuple[str, list[type[Op]]]]:
    """(group title, op classes) in palette order; unknown families go last as Other."""
    groups: dict[str, list[type[Op]]] = {family: [] for family in FAMILY_TITLES}
    for cls in OPS.values():
        groups.setdefault(cls.family if cls.family in FAMILY_TITLES else "", []).append(cls)
    return [(FAMILY_TITLES.get(family, "Other"), classes)
            for family, classes in groups.items() if classes]


class OpTree(QTreeWidget):
    """The list itself: a drag source for op names."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setIconSize(QSize(24, 24))
        self.setUniformRowHeights(True)

    def mimeTypes(self) -> list[str]:
        return [OP_MIME]

    def mimeData(self, items) -> QMimeData:
        """The drag payload of the dragged entries (groups carry nothing)."""
        names = [item.data(0, OP_ROLE) for item in items if item.data(0, OP_ROLE)]
        data = QMimeData()
        if names:
            data.setData(OP_MIME, names[0].encode("utf-8"))
            data.setText(names[0])
        return data

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def keyPressEvent(self, event) -> None:
        item = self.currentItem()
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and item is not None:
            self.itemDoubleClicked.emit(item, 0)
            return
        super().keyPressEvent(event)


class Palette(QWidget):
    """A filter box above the grouped op list."""

    op_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter ops…")
        self.filter.setClearButtonEnabled(True)
        self.tree = OpTree(self)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.items: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.filter.textChanged.connect(self.apply_filter)
        self.tree.itemDoubleClicked.connect(self._activated)

    def _fill(self) -> None:
        for title, classes in grouped_ops():
            group = QTreeWidgetItem(self.tree, [title])
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = group.font(0)
            font.setBold(True)
            group.setFont(0, font)
            for cls in classes:
                item = QTreeWidgetItem(group, [cls.op_name])
                item.setData(0, OP_ROLE, cls.op_name)
                item.setIcon(0, family_icon(cls.family))
                item.setToolTip(0, op_tooltip(cls))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                self.items[cls.op_name] = item
        self.tree.expandAll()

    def mime_data(self, op_name: str) -> QMimeData:
        """The payload a drag of `op_name` carries."""
        return self.tree.mimeData([self.items[op_name]])

    def apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for index in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(index)
            shown = 0
            for row in range(group.childCount()):
                item = group.child(row)
                visible = not needle or needle in item.text(0).lower()
                item.setHidden(not visible)
                shown += visible
            group.setHidden(shown == 0)

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        name = item.data(0, OP_ROLE)
        if name:
            self.op_activated.emit(name)
