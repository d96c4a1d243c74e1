"""Help › Quick Tour: a short guided overlay over the window.

Five stops on the default example: where to drag ops from and to, what F10
does, where the formula and the tensors appear (the tour shows those panels,
hidden until the first pass, saying they stay empty until F10), and how to
export. Each stop
outlines the part of the window it talks about and says what to do there;
Next (or Return) and Back move, Skip (or Esc) closes it. The card sits beside
the outlined part, never over it (`card_position`). `offer_on_first_launch` shows it
once, on the first launch of the app (remembered in the settings as
"help/tour_seen"); only the `bpviz` command calls it, so tests and `bpviz
snapshot` never see it. Help › Quick Tour reopens it at any time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QPoint, QRect, QSize
from PySide6.QtGui import QColor, QKeySequence, QPainter, QPen, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from bpviz.scene.theme import current_theme
from bpviz.ui.app import settings

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

SEEN_KEY = "help/tour_seen"
CARD_WIDTH = 380
MARGIN = 16  # between the card and the outlined part, and the window's edges


@dataclass(frozen=True)
class Stop:
    title: str
    text: str
    target: str  # "palette", "canvas", "step_bar", "docks", "menu"


STOPS = (
    Stop("Build a graph", "Drag an op from the palette on the left onto the canvas, then drag "
         "a wire from an output port (right side of a node) to an input port (left side).",
         "palette"),
    Stop("The canvas", "Shapes are written on every wire and parameter counts on every node; a "
         "node whose shapes do not fit turns red. Select a node to edit it in the inspector.",
         "canvas"),
    Stop("Step through backprop", "Press F10: the first press runs a forward pass of a random "
         "batch, each further press takes one step, forward then backward. Shift+F10 steps "
         "back, F5 plays, Home resets.", "step_bar"),
    Stop("Formula and tensors", "At every step the Tensors panel (left) shows the step's "
         "tensors as heat maps and the Formula panel (right) the chain rule in the lecture's "
         "notation, with the shapes. Both stay empty until the first F10 builds a pass.",
         "docks"),
    Stop("Export for slides", "File › Export… (Ctrl+E) writes the graph at any step as SVG, "
         "PDF, PNG or TikZ, the whole pass as a GIF, or as a slide deck (Slide deck of the "
         "pass: PowerPoint, Beamer or PDF; on the command line bpviz export --deck). "
         "Help › Quick Tour shows this again.", "menu"),
)


def target_rect(window: MainWindow, target: str) -> QRect:
    """Where `target` is, in window coordinates (the whole window when hidden)."""
    widgets = {"palette": window.docks[0], "canvas": window.view,
               "step_bar": window.stepping.bar, "menu": window.menuBar(),
               "docks": window.stepping.docks["tensors"]}
    widget = widgets[target]
    if not widget.isVisible():
        return window.rect()
    rect = QRect(widget.mapTo(window, widget.rect().topLeft()), widget.size())
    if target == "docks":  # the Tensors and the Formula panel side by side
        formula = window.stepping.docks["formula"]
        if formula.isVisible():
            rect = rect.united(QRect(formula.mapTo(window, formula.rect().topLeft()),
                                     formula.size()))
    return rect


def show_target(window: MainWindow, target: str) -> None:
    """Bring the part a stop talks about into sight: the step-through panels, hidden
    until the first pass, are shown (empty) for their stop."""
    if target == "docks":
        window.stepping.show_docks()
        window.layout().activate()  # their place now, not at the next layout pass


class QuickTour(QWidget):
    """The overlay: the window dimmed but for the stop's part, and a card."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("quick_tour")
        self.window_ = window
        self.index = 0
        self.card = QFrame(self)
        self.card.setObjectName("tour_card")
        self.card.setFrameShape(QFrame.Shape.Box)
        self.card.setAutoFillBackground(True)
        self.card.setFixedWidth(CARD_WIDTH)
        self.heading = QLabel()
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.heading.setFont(font)
        self.body = QLabel()
        self.body.setWordWrap(True)
        self.count = QLabel()
        self.back = QPushButton("Back")
        self.next = QPushButton("Next")
        self.skip = QPushButton("Skip")
        self.back.clicked.connect(lambda: self.go(self.index - 1))
        self.next.clicked.connect(lambda: self.go(self.index + 1))
        self.skip.clicked.connect(self.finish)
        QShortcut(QKeySequence("Esc"), self, self.finish)
        for key in ("Return", "Enter"):  # as Space on the focused Next
            QShortcut(QKeySequence(key), self, self.next.click)
        buttons = QHBoxLayout()
        buttons.addWidget(self.count)
        buttons.addStretch(1)
        for button in (self.skip, self.back, self.next):
            buttons.addWidget(button)
        layout = QVBoxLayout(self.card)
        layout.addWidget(self.heading)
        layout.addWidget(self.body)
        layout.addLayout(buttons)
        window.installEventFilter(self)
        self.setGeometry(window.rect())
        self.go(0)

    @property
    def stop(self) -> Stop:
        return STOPS[self.index]

    def go(self, index: int) -> None:
        if index >= len(STOPS):
            self.finish()
            return
        self.index = max(0, index)
        self.heading.setText(self.stop.title)
        self.body.setText(self.stop.text)
        self.count.setText(f"{self.index + 1} of {len(STOPS)}")
        show_target(self.window_, self.stop.target)
        self.raise_()  # over panels shown since
        self.back.setEnabled(self.index > 0)
        self.next.setText("Done" if self.index == len(STOPS) - 1 else "Next")
        self._place_card()
        self.update()
        self.next.setFocus()

    def finish(self) -> None:
        settings().setValue(SEEN_KEY, True)
        self.window_.removeEventFilter(self)
        self.close()
        self.deleteLater()

    def _place_card(self) -> None:
        self.card.adjustSize()
        spot = target_rect(self.window_, self.stop.target).adjusted(-3, -3, 3, 3)  # the outline
        self.card.move(card_position(spot, self.rect(), self.card.size()))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.window_ and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.window_.rect())
            self._place_card()
        return False

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        spot = target_rect(self.window_, self.stop.target).adjusted(-3, -3, 3, 3)
        shade = QColor(0, 0, 0, 110)
        room = self.rect()
        painter.fillRect(QRect(room.left(), room.top(), room.width(), spot.top()), shade)
        painter.fillRect(QRect(room.left(), spot.bottom(), room.width(),
                               room.bottom() - spot.bottom()), shade)
        painter.fillRect(QRect(room.left(), spot.top(), spot.left(), spot.height()), shade)
        painter.fillRect(QRect(spot.right(), spot.top(), room.right() - spot.right(),
                               spot.height()), shade)
        painter.setPen(QPen(QColor(current_theme().highlight), 3))
        painter.drawRect(spot)


def card_position(spot: QRect, room: QRect, size: QSize) -> QPoint:
    """Where a card of `size` goes in `room` beside `spot` (right, left, below or above it,
    the first side with room for it), never over it; when no side has room, the place
    that covers the least of `spot`."""
    def inside(low: int, high: int, length: int, want: int) -> int:
        return max(low + MARGIN, min(want, high - length - MARGIN))

    width, height = size.width(), size.height()
    beside_y = inside(room.top(), room.bottom(), height, spot.top() + MARGIN)
    beside_x = inside(room.left(), room.right(), width, spot.center().x() - width // 2)
    places = (QPoint(spot.right() + MARGIN, beside_y),  # right of it
              QPoint(spot.left() - MARGIN - width, beside_y),  # left of it
              QPoint(beside_x, spot.bottom() + MARGIN),  # below it
              QPoint(beside_x, spot.top() - MARGIN - height))  # above it
    for place in places:
        card = QRect(place, size)
        if room.contains(card) and not card.intersects(spot):
            return place
    corners = [QPoint(x, y) for x in (room.left() + MARGIN, room.right() - width - MARGIN)
               for y in (room.top() + MARGIN, room.bottom() - height - MARGIN)]

    def covered(place: QPoint) -> int:
        common = QRect(place, size).intersected(spot)
        return common.width() * common.height() if not common.isEmpty() else 0
    return min(corners, key=covered)


def offer_on_first_launch(window: MainWindow) -> QuickTour | None:
    """The tour, shown when it has never been seen (the first launch)."""
    value = settings().value(SEEN_KEY, False)
    if value in (True, "true", "1", 1):
        return None
    tour = QuickTour(window)
    tour.show()
    tour.raise_()
    return tour
