"""File › Import from PyTorch: which .py file, which factory in it, which input shape.

TorchImportDialog asks for the three things `bpviz.oracle.importer.import_torch`
needs. Choosing a file lists its top-level functions and classes (read with
`ast`, nothing is run) as factory suggestions; the shape is typed as
"C H W" (an image) or "F" (features). OK is enabled once all three make sense;
`request()` gives them as an ImportRequest. The last answers are remembered.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from bpviz.ui.app import settings

PY_FILTER = "Python files (*.py);;All files (*)"
KEYS = {"path": "torch/import_path", "factory": "torch/import_factory",
        "shape": "torch/import_shape"}


@dataclass(frozen=True)
class ImportRequest:
    path: str  # a .py file
    factory: str  # a callable in it returning an nn.Module
    shape: tuple[int, ...]  # one sample: (C, H, W) or (F,)

    @property
    def spec(self) -> str:
        return f"{self.path}:{self.factory}"


def parse_shape(text: str) -> tuple[int, ...] | None:
    """(C, H, W) or (F,) from "1 28 28", "1, 28, 28", "1×28×28" or "64"; None if not."""
    parts = [p for p in re.split(r"[\s,x×*()\[\]]+", text.strip()) if p]
    if len(parts) not in (1, 3) or not all(p.isdigit() and int(p) >= 1 for p in parts):
        return None
    return tuple(int(p) for p in parts)


def factories(path: str | Path) -> list[str]:
    """The top-level functions and classes of a Python file (public ones first)."""
    try:
        tree = ast.parse(Path(path).read_text("utf-8"))
    except (OSError, SyntaxError, ValueError, UnicodeDecodeError):
        return []
    names = [node.name for node in tree.body
             if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
    return sorted(names, key=lambda name: name.startswith("_"))


class TorchImportDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import from PyTorch")
        self.setMinimumWidth(520)
        self.path = QLineEdit()
        self.path.setPlaceholderText("a .py file defining the model")
        self.browse = QPushButton("Browse…")
        self.factory = QComboBox()
        self.factory.setEditable(True)
        self.factory.lineEdit().setPlaceholderText("a function or class returning an nn.Module")
        self.shape = QLineEdit()
        self.shape.setPlaceholderText("C H W for images (1 28 28), F for features (64)")
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Import")
        self._build()
        self._restore()
        self._check()

    def _build(self) -> None:
        row = QHBoxLayout()
        row.addWidget(self.path, 1)
        row.addWidget(self.browse)
        form = QFormLayout()
        form.addRow("Python file", row)
        form.addRow("Factory", self.factory)
        form.addRow("Input shape", self.shape)
        note = QLabel("The factory is called with no arguments; its module is traced with "
                      "torch.fx for one sample of the input shape.")
        note.setWordWrap(True)
        note.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.browse.clicked.connect(self._browse)
        self.path.editingFinished.connect(self._fill_factories)
        for edit in (self.path, self.shape, self.factory.lineEdit()):
            edit.textChanged.connect(self._check)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)

    def _restore(self) -> None:
        store = settings()
        self.path.setText(str(store.value(KEYS["path"], "") or ""))
        self._fill_factories()
        self.factory.setEditText(str(store.value(KEYS["factory"], "") or ""))
        self.shape.setText(str(store.value(KEYS["shape"], "") or ""))

    def _browse(self) -> None:
        start = str(Path(self.path.text()).parent) if self.path.text() else ""
        path, _ = QFileDialog.getOpenFileName(self, "Python file with the model", start,
                                              PY_FILTER)
        if path:
            self.path.setText(path)
            self._fill_factories()

    def _fill_factories(self) -> None:
        typed = self.factory.currentText()
        names = factories(self.path.text()) if self.path.text() else []
        self.factory.clear()
        self.factory.addItems(names)
        self.factory.setEditText(typed if typed in names or not names else names[0])

    def problem_text(self) -> str:
        """What is missing or wrong, or "" when Import can go ahead."""
        path = self.path.text().strip()
        if not path:
            return "Choose the Python file that defines the model."
        if not Path(path).is_file():
            return f"{path} does not exist."
        if not self.factory.currentText().strip():
            return "Name the function or class that makes the model."
        if parse_shape(self.shape.text()) is None:
            return "The input shape is C H W (e.g. 1 28 28) or F (e.g. 64), each at least 1."
        return ""

    def _check(self, *_) -> None:
        problem = self.problem_text()
        self.problem.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def request(self) -> ImportRequest | None:
        if self.problem_text():
            return None
        return ImportRequest(self.path.text().strip(), self.factory.currentText().strip(),
                             parse_shape(self.shape.text()))

    def _accept(self) -> None:
        request = self.request()
        if request is None:
            return
        store = settings()
        store.setValue(KEYS["path"], request.path)
        store.setValue(KEYS["factory"], request.factory)
        store.setValue(KEYS["shape"], " ".join(map(str, request.shape)))
        self.accept()

    def ask(self) -> ImportRequest | None:
        """Show the dialog; the request, or None when cancelled."""
        return self.request() if self.exec() == QDialog.DialogCode.Accepted else None
