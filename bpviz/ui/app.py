"""The desktop app's QApplication, settings and data folder (bpviz.ui.launch opens the window).

BPVIZ_DATA_DIR, when set, holds the settings (settings.ini) and the recovery
files instead of the user's folders: tests and snapshots use it to leave the
user's settings alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QStandardPaths
from PySide6.QtWidgets import QApplication

from bpviz.ui.theme_icons import ThemedIconStyle

APP_NAME = "bpviz"
ORGANIZATION = "bpviz"
DATA_DIR_ENV = "BPVIZ_DATA_DIR"
MIN_FONT_POINTS = 11.0


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


def application() -> QApplication:
    """The running QApplication, made and named on first use."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else APP_NAME])
        app.setStyle(ThemedIconStyle("Fusion"))  # dock buttons that follow the theme
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
