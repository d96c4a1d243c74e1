"""Starting the desktop app: the QApplication, settings, data folder and main window.

BPVIZ_DATA_DIR, when set, holds the settings (settings.ini) and the recovery
files instead of the user's folders: tests and snapshots use it to leave the
user's settings alone.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths, QTimer
from PySide6.QtWidgets import QApplication

from bpviz.display import has_display

APP_NAME = "bpviz"
ORGANIZATION = "bpviz"
DATA_DIR_ENV = "BPVIZ_DATA_DIR"
MIN_FONT_POINTS = 11.0
NO_DISPLAY_MESSAGE = (
    "bpviz: error: no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY "
    "is set). Run it from a desktop session, or use the headless commands "
    "(bpviz check, bpviz info, bpviz snapshot); see bpviz --help.")


def about_text() -> str:
    import platform

    import numpy
    import PySide6
    from PySide6.QtCore import qVersion

    from bpviz import __version__

    return (f"<h3>bpviz {__version__}</h3>"
            "<p>Make backpropagation visible: build a network, step through its forward "
            "and backward passes, and check every number against PyTorch.</p>"
            f"<p>Python {platform.python_version()}<br>Qt {qVersion()} · PySide6 "
            f"{PySide6.__version__}<br>NumPy {numpy.__version__}</p>")

def data_dir() -> Path:
    """The folder for recovery files (created when missing)."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        path = Path(override)
    else:
        location = QStandardPaths.writableLocation(
            QStandardPaths.StandardLocation.AppDataLocation)
        path = Path(location or Path.home() / ".bpviz")
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings() -> QSettings:
    """The app's QSettings; an ini file in BPVIZ_DATA_DIR when that is set."""
    override = os.environ.get(DATA_DIR_ENV)
    if override:
        Path(override).mkdir(parents=True, exist_ok=True)
        return QSettings(str(Path(override) / "settings.ini"), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APP_NAME)


def display_available() -> bool:
    """False on a Linux/BSD machine without X11 or Wayland (and no QT_QPA_PLATFORM)."""
    return bool(os.environ.get("QT_QPA_PLATFORM")) or has_display()


def application() -> QApplication:
    """The running QApplication, made and named on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else APP_NAME])
        app.setStyle("Fusion")
        font = app.font()
        if font.pointSizeF() < MIN_FONT_POINTS:  # readable from the back of a lecture hall
            font.setPointSizeF(MIN_FONT_POINTS)
            app.setFont(font)
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationDisplayName("")
    from bpviz import __version__

    app.setApplicationVersion(__version__)
    return app


def run_app(path: str | None = None) -> int:
    """Open the window on `path` (the bundled example when None); the exit code."""
    if not display_available():
        print(NO_DISPLAY_MESSAGE, file=sys.stderr)
        return 2
    app = application()
    from bpviz.ui.appearance import load_theme
    from bpviz.ui.main_window import MainWindow

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
        window.open_path(path or str(default_graph()), show_errors=True)
    close_on_interrupt(app)
    return app.exec()


def close_on_interrupt(app: QApplication) -> None:
    """Ctrl+C in the terminal closes the windows (asking about unsaved changes)."""
    signal.signal(signal.SIGINT, lambda *_: QTimer.singleShot(0, app.closeAllWindows))
    # Python runs signal handlers only between bytecodes: wake it up now and then.
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def default_graph() -> Path:
    from bpviz.graph.examples import default_example

    return default_example()
