"""Whether a screen is there, and Qt's offscreen platform when it is not (no Qt import)."""

from __future__ import annotations

import os
import sys


def has_display() -> bool:
    """True on Windows and macOS, and on X11/Wayland machines with a display set."""
    if sys.platform.startswith(("win", "darwin")):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def use_offscreen_without_display() -> None:
    """Render off screen when there is no display (call before Qt starts)."""
    if not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
