"""The window's theme choice, kept in the settings between runs.

The themes themselves, and switching between them, live in bpviz.scene.theme.
"""

from __future__ import annotations

from bpviz.scene.theme import THEMES, Theme, theme_manager
from bpviz.ui.app import settings

SETTINGS_KEY = "view/theme"


def load_theme() -> Theme:
    """Apply the theme saved in the settings (light when none)."""
    name = str(settings().value(SETTINGS_KEY, "light"))
    manager = theme_manager()
    manager.set_theme(name if name in THEMES else "light")
    return manager.theme


def set_theme(name: str) -> None:
    """Switch to the theme `name` and remember it for the next run."""
    theme_manager().set_theme(name)
    settings().setValue(SETTINGS_KEY, name)
