"""Opening the window: `run_app(path)` runs the app until its window closes."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from bpviz.display import has_display
from bpviz.graph.examples import default_example
from bpviz.ui.app import application
from bpviz.ui.appearance import load_theme
from bpviz.ui.help.tour import offer_on_first_launch
from bpviz.ui.main_window import MainWindow

NO_DISPLAY_MESSAGE = (
    "bpviz: error: no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY "
    "is set). Run it from a desktop session, or use the headless commands "
    "(bpviz check, bpviz info, bpviz snapshot); see bpviz --help.")


def display_available() -> bool:
    """False on a Linux/BSD machine without X11 or Wayland (and no QT_QPA_PLATFORM)."""
    return bool(os.environ.get("QT_QPA_PLATFORM")) or has_display()


def run_app(path: str | None = None) -> int:
    """Open the window on `path` (the bundled example when None); the exit code."""
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    app = application()
    load_theme()
    window = MainWindow()
    if window.layout_restored:
        window.show()
    else:  # first launch: all the room there is for the canvas
        screen = app.primaryScreen()
        if screen is not None:
            window.setGeometry(screen.availableGeometry())
        window.showMaximized()
    if not window.offer_recovery():
        window.open_path(path or str(default_example()), show_errors=True)
    QTimer.singleShot(0, lambda: offer_on_first_launch(window))
    close_on_interrupt(app)
    return app.exec()


def close_on_interrupt(app: QApplication) -> None:
    """Ctrl+C in the terminal closes the windows (asking about unsaved changes)."""
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, app.closeAllWindows))
    # Python runs signal handlers only between bytecodes: wake it up now and then.
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)

