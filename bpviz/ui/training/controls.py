"""The training strip: dataset and optimiser settings, Train / Pause / Stop, progress.

The settings (dataset, optimizer, learning rate, momentum, batch size,
epochs, seed) and the buttons flow left to right, wrapping when the panel is
narrow; below them the progress bar, iterations per second and one line of
status text. "File…" in the dataset list asks for a .csv or .npz file
(`ask_data_path`, replaced in tests) and adds it to the list. While a run is
paused the learning rate (and SGD's momentum) can be changed: the panel sends
`optimizer_options()` to the run when it resumes.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from bpviz.data import DATASETS
from bpviz.scene.theme import current_theme
from bpviz.ui.theme_icons import themed_icon
from bpviz.ui.training.flow import FlowLayout
from bpviz.ui.training.lrbox import LearningRateBox
from bpviz.ui.training.worker import TrainConfig

DEFAULT_LR = {"adam": 0.01, "sgd": 0.05}  # as `bpviz train`
OPTIMIZERS = {"Adam": "adam", "SGD": "sgd"}
FILE_ENTRY = "File…"
DATA_FILTER = "Data files (*.csv *.npz);;All files (*)"
STATUS_CHARACTERS = 90  # a status narrower than this many average characters has two lines


def spin(minimum: int, maximum: int, value: int, tip: str) -> QSpinBox:
    box = QSpinBox()
    box.setRange(minimum, maximum)
    box.setValue(value)
    box.setToolTip(tip)
    box.setAccelerated(True)
    return box


def real_spin(minimum: float, maximum: float, value: float, decimals: int, step: float,
              tip: str) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(minimum, maximum)
    box.setSingleStep(step)
    box.setValue(value)
    box.setToolTip(tip)
    return box


def group(*widgets: QWidget) -> QWidget:
    """Widgets side by side that wrap as one."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(4)
    for widget in widgets:
        row.addWidget(widget)
    return box


class TrainingControls(QWidget):
    train_clicked = Signal()
    pause_toggled = Signal(bool)
    stop_clicked = Signal()
    changed = Signal()  # a setting of config() changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dataset = QComboBox()
        self.dataset.setToolTip("the data to train on; File… for your own .csv or .npz")
        self.dataset.addItems(list(DATASETS))
        self.dataset.addItem(FILE_ENTRY)
        self.dataset.setCurrentText("moons")
        self._last_dataset = self.dataset.currentIndex()
        self.optimizer = QComboBox()
        self.optimizer.addItems(list(OPTIMIZERS))
        self.lr = LearningRateBox(DEFAULT_LR["adam"], "learning rate (it can be changed "
                                                     "while training is paused)")
        self.momentum = real_spin(0.0, 0.999, 0.9, 3, 0.05, "SGD momentum (Adam keeps its own)")
        self.batch = spin(1, 65536, 32, "samples per optimizer step")
        self.epochs = spin(0, 100000, 0, "passes over the training data; auto: 10, or enough "
                                         "for 1000 iterations on small data")
        self.epochs.setSpecialValueText("auto")
        self.seed = spin(0, 2**31 - 1, 0, "seed for the weights, the split and the batch order")
        self.train_button = QPushButton("Train")
        self.pause_button = QPushButton("Pause")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar()
        self.rate = QLabel("")
        self.status = QLabel("")
        self._status = ("", False)  # the status's text and whether it is an error
        self._lr_note: str | None = None  # a refused learning rate's note, while shown
        self._before_note = ("", False)  # the status the note replaced
        self._build()
        self._connect()
        self.set_state("idle")
        self.clear_progress()

    def _build(self) -> None:
        self.train_button.setIcon(themed_icon("play"))  # the palette's text colour
        self.train_button.setToolTip("train a copy of the graph (Ctrl+T)")
        self.icons = {"pause": themed_icon("pause"), "resume": themed_icon("play")}
        self.pause_button.setIcon(self.icons["pause"])
        self.pause_button.setCheckable(True)
        self.stop_button.setIcon(themed_icon("stop"))
        self.stop_button.setToolTip("stop training, keeping the weights (Ctrl+Shift+T)")
        self.progress.setTextVisible(True)
        self.progress.setMinimumWidth(
            self.progress.fontMetrics().horizontalAdvance("8,888,888 / 8,888,888 it") + 24)
        self.rate.setMinimumWidth(80)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        flow = FlowLayout(spacing=10)
        for text, widget in (("Dataset", self.dataset), ("Optimizer", self.optimizer),
                             ("lr", self.lr), ("momentum", self.momentum),
                             ("batch", self.batch), ("epochs", self.epochs),
                             ("seed", self.seed)):
            label = QLabel(text)
            label.setBuddy(widget)
            flow.addWidget(group(label, widget))
        flow.addWidget(group(self.train_button, self.pause_button, self.stop_button))
        progress = QHBoxLayout()
        progress.addWidget(self.progress)
        progress.addWidget(self.rate)
        progress.addWidget(self.status, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 2)
        layout.setSpacing(4)
        layout.addLayout(flow)
        layout.addLayout(progress)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        """Never shorter than its rows need at this width (a dock does not ask the
        height for a width, so the plots below would be squeezed instead)."""
        super().resizeEvent(event)
        self._fit_status()
        need = self.layout().totalHeightForWidth(self.width())
        if need != self.minimumHeight():
            self.setMinimumHeight(need)

    def _fit_status(self) -> None:
        """The status line wraps onto a second line where it is narrow; its height
        depends on the width alone, so the plots below do not jump as it changes."""
        metrics = self.status.fontMetrics()
        room = self.width() - self.progress.minimumWidth() - self.rate.minimumWidth()
        lines = 1 if room >= metrics.averageCharWidth() * STATUS_CHARACTERS else 2
        self.status.setWordWrap(lines > 1)
        self.status.setFixedHeight(lines * metrics.lineSpacing() + 2)

    def _connect(self) -> None:
        self.train_button.clicked.connect(self.train_clicked)
        self.pause_button.toggled.connect(self.pause_toggled)
        self.stop_button.clicked.connect(self.stop_clicked)
        self.optimizer.currentTextChanged.connect(self._optimizer_changed)
        self.dataset.activated.connect(self._dataset_activated)
        self.lr.out_of_range.connect(self._show_lr_note)
        self.lr.accepted.connect(self._clear_lr_note)
        self.lr.valueChanged.connect(self._clear_lr_note)
        for signal in (self.dataset.currentIndexChanged, self.optimizer.currentIndexChanged,
                       self.lr.valueChanged, self.momentum.valueChanged,
                       self.batch.valueChanged, self.epochs.valueChanged,
                       self.seed.valueChanged):
            signal.connect(lambda *_: self.changed.emit())

    # -- settings ----------------------------------------------------------------------
    def config(self) -> TrainConfig:
        spec = self.dataset.currentData() or self.dataset.currentText()
        return TrainConfig(dataset=str(spec),
                           optimizer=OPTIMIZERS[self.optimizer.currentText()],
                           lr=self.lr.value(), momentum=self.momentum.value(),
                           batch_size=self.batch.value(), epochs=self.epochs.value(),
                           seed=self.seed.value())

    def optimizer_options(self) -> dict[str, float]:
        """The settings a paused run may change: lr, and momentum for SGD."""
        config = self.config()
        if config.optimizer == "sgd":
            return {"lr": config.lr, "momentum": config.momentum}
        return {"lr": config.lr}

    def set_dataset(self, spec: str) -> None:
        """Choose a named dataset or a data file (added to the list once)."""
        if spec.lower() in DATASETS:
            self.dataset.setCurrentText(spec.lower())
        else:
            index = self.dataset.findData(str(spec))
            if index < 0:
                index = self.dataset.count() - 1  # before "File…"
                self.dataset.insertItem(index, Path(spec).name, str(spec))
                self.dataset.setItemData(index, str(spec), Qt.ItemDataRole.ToolTipRole)
            self.dataset.setCurrentIndex(index)
        self._last_dataset = self.dataset.currentIndex()

    def ask_data_path(self) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a data file", str(Path.cwd()),
                                              DATA_FILTER)
        return path or None

    def _dataset_activated(self, index: int) -> None:
        if self.dataset.itemText(index) != FILE_ENTRY:
            self._last_dataset = index
            return
        path = self.ask_data_path()
        if path:
            self.set_dataset(path)
        else:
            self.dataset.setCurrentIndex(self._last_dataset)

    def _optimizer_changed(self, text: str) -> None:
        name = OPTIMIZERS[text]
        if self.lr.value() in DEFAULT_LR.values():
            self.lr.setValue(DEFAULT_LR[name])
        self.momentum.setEnabled(name == "sgd")

    def _show_lr_note(self, text: str) -> None:
        if self._lr_note is None or self._status[0] != self._lr_note:
            self._before_note = self._status
        self._lr_note = text
        self.set_status(text, error=True)

    def _clear_lr_note(self) -> None:
        """A learning rate was accepted: the refused one's note gives way to the status
        it replaced."""
        if self._lr_note is not None and self._status[0] == self._lr_note:
            self.set_status(*self._before_note)
        self._lr_note = None

    # -- state ----------------------------------------------------------------------------
    def set_state(self, state: str) -> None:
        """"idle", "preparing", "training" or "paused": what can be clicked.

        Paused, the learning rate and SGD's momentum can be changed for the rest of the run.
        """
        running = state != "idle"
        tunable = state in ("idle", "paused")
        for widget in (self.dataset, self.optimizer, self.batch, self.epochs, self.seed):
            widget.setEnabled(not running)
        self.lr.setEnabled(tunable)
        self.momentum.setEnabled(tunable and self.config().optimizer == "sgd")
        self.train_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.stop_button.setEnabled(running)
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(state == "paused")
        word = "resume" if state == "paused" else "pause"  # what a click does
        self.pause_button.setText(word.capitalize())
        self.pause_button.setIcon(self.icons[word])
        self.pause_button.blockSignals(False)

    def set_progress(self, done: int, total: int, rate: float | None) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(min(done, max(total, 1)))
        self.progress.setFormat(f"{done:,} / {total:,} it")
        self.rate.setText("" if rate is None else f"{rate:,.0f} it/s")

    def clear_progress(self) -> None:
        """No run to show: an empty bar that says so."""
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("no run yet")
        self.rate.setText("")

    def set_status(self, text: str, error: bool = False) -> None:
        self._status = (text, error)
        escaped = html.escape(text)
        if error:
            escaped = f"<span style='color:{current_theme().error}'>⚠ {escaped}</span>"
        self.status.setText(escaped)
        self.status.setToolTip(text)
