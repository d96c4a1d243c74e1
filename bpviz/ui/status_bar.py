"""The window's status bar: passing messages on the left, the graph's state on the right.

`graph_label` (permanent, right) says "N nodes · P parameters" or the graph's
first error in the theme's error colour; it takes at most GRAPH_SHARE of the
bar while a message is shown (ALONE_SHARE otherwise) and elides the rest (the
whole text is its tooltip). Passing messages
(`showMessage`, menu status tips) are painted elided too (the whole message
is the bar's tooltip), ending GAP pixels before the graph label, so the two
never run into each other.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QSizePolicy, QStatusBar, QWidget

from bpviz.ui.stepping.elided_label import ElidedLabel

GRAPH_SHARE = 0.5  # the most of the bar's width the graph label takes beside a message
ALONE_SHARE = 0.95  # … and with no message to its left
GAP = 16  # pixels between a passing message and the graph label
MARGIN = 6  # Qt's own left margin before a message


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph_label = ElidedLabel()
        self.graph_label.setObjectName("graph_status")
        self.graph_label.setSizePolicy(QSizePolicy.Policy.Preferred,
                                       QSizePolicy.Policy.Preferred)
        self._permanent: list[QWidget] = []
        self.addPermanentWidget(self.graph_label)
        self.messageChanged.connect(self._tell_whole_message)

    def addPermanentWidget(self, widget: QWidget, stretch: int = 0) -> None:  # noqa: N802
        self._permanent.append(widget)
        super().addPermanentWidget(widget, stretch)

    def set_graph_status(self, text: str, error_colour: str | None = None,
                         tooltip: str = "") -> None:
        """Show `text` on the right, in `error_colour` when it is an error."""
        label = self.graph_label
        label.setStyleSheet(f"color: {error_colour}" if error_colour else "")
        label.setText(text)
        if tooltip:
            label.setToolTip(tooltip)

    def message_rect(self) -> QRect:
        """Where a passing message is painted: up to GAP before the permanent widgets."""
        right = min((widget.x() for widget in self._permanent if widget.isVisible()),
                    default=self.width())
        return QRect(MARGIN, 0, max(0, right - GAP - MARGIN), self.height())

    def _fit_graph_label(self) -> None:
        share = GRAPH_SHARE if self.currentMessage() else ALONE_SHARE
        self.graph_label.setMaximumWidth(max(self.graph_label.minimumSizeHint().width(),
                                             int(self.width() * share)))

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        self._fit_graph_label()
        super().resizeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        message = self.currentMessage()
        if not message:
            super().paintEvent(event)
            return
        painter = QPainter(self)
        rect = self.message_rect()
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                         self.shown_message())

    def _tell_whole_message(self, message: str) -> None:
        self._fit_graph_label()
        self.setToolTip(message if message and self.shown_message() != message else "")

    def shown_message(self) -> str:
        """The passing message as painted: whole, or its start and '…'."""
        return self.fontMetrics().elidedText(self.currentMessage(), Qt.TextElideMode.ElideRight,
                                             self.message_rect().width())
