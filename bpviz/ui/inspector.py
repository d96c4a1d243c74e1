"""The inspector: the selected node's id, parameters, shapes, size and receptive field.

Every change goes through the GraphEditor, one undo step per field change. A
value the op refuses is not applied: the field shows the document's value
again and `message` carries the reason (the window puts it in the status bar).
With nothing selected it shows the graph's name and description.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from bpviz.engine import OPS, NodeSpec, Op
from bpviz.engine.receptive import ReceptiveField, receptive_fields
from bpviz.engine.shape_text import pair_text, shape_text, square_text
from bpviz.graph import GraphDocument, ShapeReport
from bpviz.graph.shapes import make_op
from bpviz.scene.theme import FAMILY_TITLES, current_theme
from bpviz.ui.editor import EditError, GraphEditor
from bpviz.ui.inspector_fields import Field, make_field


def format_field(field: ReceptiveField | None) -> str:
    if field is None:
        return "— (the output is not spatial)"
    return f"{square_text(field.size)}, stride {pair_text(field.stride)}"


def receptive_field(doc: GraphDocument, report: ShapeReport, node_id: str):
    """The node's receptive field; False when it cannot be known (a problem upstream)."""
    needed, stack = [], [node_id]
    seen = set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current not in doc.nodes or current in report.errors \
                or report.shapes.get(current) is None:
            return False
        needed.append(current)
        stack.extend(doc.nodes[current].inputs)
    specs = []
    for current in needed:
        node = doc.nodes[current]
        op, _problem = make_op(node)
        if op is None:
            return False
        specs.append(NodeSpec(current, op, list(node.inputs)))
    return receptive_fields(specs)[node_id]


def has_parameters(cls) -> bool:
    """Whether nodes of this op class have trainable tensors (dense, conv2d, batchnorm)."""
    return cls is not None and cls.param_shapes is not Op.param_shapes


def param_value(node_params: dict, spec) -> Any:
    return node_params.get(spec.name, spec.default)


class Inspector(QScrollArea):
    """Shows `editor`'s single selected node; `message(str)` for refused edits."""

    message = Signal(str)

    def __init__(self, editor: GraphEditor, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = editor
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.node_id: str | None = None
        self.fields: dict[str, Field] = {}
        self._shown: tuple | None = None
        self._build_empty()
        editor.selection_changed.connect(self._selection_changed)
        editor.report_changed.connect(lambda _report: self.refresh())
        editor.document_replaced.connect(self.refresh)

    # -- which node -----------------------------------------------------
    def _selection_changed(self, ids: list) -> None:
        self.refresh()

    def _target(self) -> str | None:
        selection = self.editor.selection
        if len(selection) == 1 and selection[0] in self.editor.doc.nodes:
            return selection[0]
        return None

    def refresh(self) -> None:
        """Rebuild for a new node; otherwise just show the document's current values."""
        node_id = self._target()
        doc = self.editor.doc
        key = (node_id, doc.nodes[node_id].op) if node_id else (None, len(self.editor.selection))
        if key != self._shown:
            self._shown = key
            self.node_id = node_id
            if node_id is None:
                self._build_empty()
            else:
                self._build_node(node_id)
        if node_id is not None:
            self._update_node()
        else:
            self._update_empty()

    # -- nothing or several selected ------------------------------------
    def _new_page(self) -> QFormLayout:
        old = self.takeWidget()
        if old is not None:
            old.deleteLater()  # may be inside one of its own signals: not now
        page = QWidget()
        outer = QVBoxLayout(page)
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        outer.addWidget(self.title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        outer.addLayout(form)
        outer.addStretch(1)
        self.setWidget(page)
        self.fields = {}
        return form

    def _build_empty(self) -> None:
        form = self._new_page()
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("untitled")
        self.name_edit.editingFinished.connect(self._rename_graph)
        form.addRow("graph name", self.name_edit)
        self.about = QLabel()
        self.about.setWordWrap(True)
        form.addRow(self.about)

    def _update_empty(self) -> None:
        doc = self.editor.doc
        count = len(self.editor.selection)
        self.title.setText(f"<b>{count} nodes selected</b>" if count > 1 else
                           "<b>Graph</b> <i>(select a node to inspect it)</i>")
        if not self.name_edit.hasFocus():
            self.name_edit.setText(doc.name)
            self.name_edit.setCursorPosition(0)  # show the start of a long name
        text = getattr(doc, "description", "") or ""
        nodes = f"{len(doc.nodes)} node{'s' if len(doc.nodes) != 1 else ''}"
        self.about.setText(f"{text}\n\n{nodes}" if text else nodes)

    def _rename_graph(self) -> None:
        name = self.name_edit.text().strip()
        if name != self.editor.doc.name:
            self.editor.set_name(name)

    # -- one node -------------------------------------------------------
    def _build_node(self, node_id: str) -> None:
        node = self.editor.doc.nodes[node_id]
        form = self._new_page()
        self.id_edit = QLineEdit()
        self.id_edit.setToolTip("the node's id: other nodes name it in their inputs")
        self.id_edit.editingFinished.connect(self._rename_node)
        form.addRow("id", self.id_edit)
        cls = OPS.get(node.op)
        for spec in cls.hypers if cls else ():
            field = make_field(spec)
            field.edited.connect(lambda name=spec.name: self._field_edited(name))
            label = QLabel(spec.name)
            label.setToolTip(spec.doc)
            form.addRow(label, field)
            self.fields[spec.name] = field
        self.trainable = QCheckBox("update while training")
        self.trainable.setToolTip("off: the node is frozen, its parameters stay as they are")
        self.trainable.toggled.connect(self._trainable_toggled)
        form.addRow("trainable", self.trainable)
        self.info = {}
        for key in ("inputs", "output", "parameters", "receptive field"):
            label = QLabel()
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(key, label)
            self.info[key] = label
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.error)

    def _update_node(self) -> None:
        doc, report = self.editor.doc, self.editor.report
        node = doc.nodes[self.node_id]
        cls = OPS.get(node.op)
        family = FAMILY_TITLES.get(cls.family, cls.family) if cls else "unknown op"
        summary = html.escape(cls.summary) if cls else ""
        self.title.setText(f"<b>{html.escape(node.op)}</b> <i>({html.escape(family)})</i>"
                           f"<br><small>{summary}</small>")
        if not self.id_edit.hasFocus():
            self.id_edit.setText(node.id)
            self.id_edit.setCursorPosition(0)
        for spec in cls.hypers if cls else ():
            field = self.fields[spec.name]
            try:
                field.set_value(param_value(node.params, spec))
            except (TypeError, ValueError, IndexError, OverflowError):
                # A half-edited file may hold anything; the error line says what is wrong.
                field.set_value(None if spec.default is None else spec.default)
        self.trainable.blockSignals(True)
        self.trainable.setChecked(node.trainable)
        self.trainable.blockSignals(False)
        self.trainable.setEnabled(has_parameters(cls))
        self._update_info(doc, report, node)

    def _update_info(self, doc: GraphDocument, report: ShapeReport, node) -> None:
        inputs = [f"{shape_text(report.shapes.get(src))} from {src}" for src in node.inputs]
        self.info["inputs"].setText("\n".join(inputs) or "none")
        self.info["output"].setText(shape_text(report.shapes.get(node.id)))
        count = report.param_counts.get(node.id, 0)
        buffers = report.buffer_counts.get(node.id, 0)
        extra = f" (+{buffers:,} running statistics)" if buffers else ""
        self.info["parameters"].setText(f"{count:,}{extra}")
        field = receptive_field(doc, report, node.id)
        self.info["receptive field"].setText("?" if field is False else format_field(field))
        error = report.errors.get(node.id)
        self.error.setVisible(bool(error))
        if error:
            colour = current_theme().error
            self.error.setText(f"<span style='color:{colour}'>{html.escape(error)}</span>")

    # -- edits ----------------------------------------------------------
    def _refuse(self, reason: str) -> None:
        self.message.emit(reason)
        if self.node_id is not None and self.node_id in self.editor.doc.nodes:
            self._update_node()

    def _field_edited(self, name: str) -> None:
        node = self.editor.doc.nodes.get(self.node_id or "")
        cls = OPS.get(node.op) if node else None
        if node is None or cls is None:
            return
        spec = next(spec for spec in cls.hypers if spec.name == name)
        try:
            value = self.fields[name].value()
        except ValueError as error:
            self._refuse(f"{node.op} '{node.id}' parameter '{name}': {error}")
            return
        params = dict(node.params)
        if (value is None and not spec.required) or (value == spec.default and not spec.required):
            params.pop(name, None)
        else:
            params[name] = value
        self.set_params(params)

    def set_params(self, params: dict[str, Any]) -> bool:
        """Ask the editor to set the shown node's params; False (and a message) if refused."""
        try:
            self.editor.set_params(self.node_id, params)
        except EditError as error:
            self._refuse(str(error))
            return False
        return True

    def _trainable_toggled(self, checked: bool) -> None:
        if self.node_id is not None:
            self.editor.set_trainable(self.node_id, checked)

    def _rename_node(self) -> None:
        new = self.id_edit.text().strip()
        if self.node_id is None or new == self.node_id:
            return
        try:
            self.editor.rename(self.node_id, new)
        except EditError as error:
            self.id_edit.setText(self.node_id)
            self._refuse(str(error))
