"""Presentation mode's window changes: large fonts, full screen, no palette.

`enter` returns what `leave` needs to put the window back as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow


def enter(window: MainWindow, scale: float) -> dict:
    """Enlarge the fonts and the canvas by `scale`, hide the palette, fill the screen."""
    app = QApplication.instance()
    palette_dock, inspector_dock = window.docks
    saved = {"font": app.font(), "maximized": window.isMaximized(),
             "fullscreen": window.isFullScreen(), "palette": palette_dock.isVisible(),
             "width": inspector_dock.width()}
    font = app.font()
    font.setPointSizeF(font.pointSizeF() * scale)
    app.setFont(font)
    palette_dock.hide()
    window.zoom_about_centre(scale)
    window.showFullScreen()
    window.resizeDocks([inspector_dock], [round(inspector_dock.width() * scale)],
                       Qt.Orientation.Horizontal)
    return saved


def leave(window: MainWindow, saved: dict, scale: float) -> None:
    """Undo `enter`, with what it returned."""
    QApplication.instance().setFont(saved["font"])
    window.zoom_about_centre(1 / scale)
    if saved["maximized"]:
        window.showMaximized()
    elif not saved["fullscreen"]:
        window.showNormal()
    window.docks[0].setVisible(saved["palette"])
    window.resizeDocks([window.docks[1]], [saved["width"]], Qt.Orientation.Horizontal)
