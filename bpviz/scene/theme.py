"""Light, dark and high-contrast themes: the widgets' QPalette and the canvas's colours.

One hue per op family (the canvas's, from the Okabe–Ito colour-blind-safe
palette), the same in every theme. CONTRAST is presentation mode's (white text
and wires on black, thick lines, yellow for the current step), not a View ›
Theme choice. `current_theme()` is the theme in use;
`theme_manager().set_theme(name)` switches it (and the running QApplication's
palette) and fires `changed` with the new Theme. Keeping the user's choice in
the settings is the window's business (bpviz.ui.appearance).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from bpviz.scene.labels import FAMILY_COLOURS, UNKNOWN_COLOUR

# Palette groups, in the order the palette lists them.
FAMILY_TITLES = {
    "input": "Input", "layer": "Layers", "pooling": "Pooling", "merge": "Merge",
    "activation": "Activations", "norm": "Normalisation", "loss": "Losses",
}


def family_colour(family: str) -> QColor:
    return QColor(FAMILY_COLOURS.get(family, UNKNOWN_COLOUR))


@dataclass(frozen=True)
class Theme:
    """name: "light", "dark" or "contrast"; canvas: named colours for the graph scene
    (an "active" colour, when given, marks the current step's node in either phase);
    line_scale: how much thicker than usual wires and outlines are drawn."""

    name: str
    window: str
    base: str
    alternate: str
    text: str
    muted: str
    highlight: str
    error: str
    canvas: dict[str, str] = field(default_factory=dict)
    highlighted_text: str = "#ffffff"
    line_scale: float = 1.0

    def colour(self, key: str) -> QColor:
        """A canvas colour: background, grid, node, node_text, wire, label, selection,
        error, frozen."""
        return QColor(self.canvas[key])

    def palette(self) -> QPalette:
        pal = QPalette()
        roles = {
            QPalette.ColorRole.Window: self.window, QPalette.ColorRole.WindowText: self.text,
            QPalette.ColorRole.Base: self.base, QPalette.ColorRole.AlternateBase: self.alternate,
            QPalette.ColorRole.Text: self.text, QPalette.ColorRole.Button: self.window,
            QPalette.ColorRole.ButtonText: self.text, QPalette.ColorRole.ToolTipBase: self.base,
            QPalette.ColorRole.ToolTipText: self.text, QPalette.ColorRole.Highlight: self.highlight,
            QPalette.ColorRole.HighlightedText: self.highlighted_text,
            QPalette.ColorRole.Link: self.highlight,
            QPalette.ColorRole.PlaceholderText: self.muted, QPalette.ColorRole.Mid: self.muted,
            QPalette.ColorRole.BrightText: self.error,
        }
        for role, colour in roles.items():
            pal.setColor(role, QColor(colour))
        for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                     QPalette.ColorRole.ButtonText):
            pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(self.muted))
        return pal


LIGHT = Theme(
    "light", window="#efefef", base="#ffffff", alternate="#f5f5f5", text="#1a1a1a",
    muted="#8a8a8a", highlight="#2f6fb5", error="#c62828",
    canvas={"background": "#fbfbfb", "grid": "#e6e6e6", "node": "#ffffff",
            "node_text": "#1a1a1a", "wire": "#555555", "label": "#333333",
            "selection": "#2f6fb5", "error": "#c62828", "frozen": "#b0b0b0"})

DARK = Theme(
    "dark", window="#2b2b2b", base="#3b3b3b", alternate="#333333", text="#e8e8e8",
    muted="#8c8c8c", highlight="#4a90d9", error="#ff6b6b",
    canvas={"background": "#1b1b1b", "grid": "#2a2a2a", "node": "#2e2e2e",
            "node_text": "#f0f0f0", "wire": "#b8b8b8", "label": "#d0d0d0",
            "selection": "#6cb2ff", "error": "#ff6b6b", "frozen": "#6a6a6a"})

CONTRAST = Theme(  # presentation mode: white on black, thick lines, yellow for the step
    "contrast", window="#000000", base="#000000", alternate="#1c1c1c", text="#ffffff",
    muted="#d8d8d8", highlight="#ffd400", error="#ff6060",
    canvas={"background": "#000000", "grid": "#000000", "node": "#000000",
            "node_text": "#ffffff", "wire": "#ffffff", "label": "#ffffff",
            "selection": "#ffd400", "error": "#ff6060", "frozen": "#9a9a9a",
            "active": "#ffd400"},
    highlighted_text="#000000", line_scale=1.8)

THEMES = {"light": LIGHT, "dark": DARK}  # the View › Theme choices


class ThemeManager(QObject):
    """Holds the theme in use; `changed(Theme)` after each switch."""

    changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.theme = LIGHT

    def set_theme(self, name: str) -> None:
        """Use the theme `name` from now on, in the widgets too when an app is running."""
        if name not in THEMES:
            raise ValueError(f"unknown theme {name!r} (themes: {', '.join(THEMES)})")
        self.use(THEMES[name])

    def use(self, theme: Theme) -> None:
        """Use `theme` (one of THEMES, or CONTRAST for presentation mode)."""
        self.theme = theme
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.setPalette(self.theme.palette())
        self.changed.emit(self.theme)


_manager: ThemeManager | None = None


def theme_manager() -> ThemeManager:
    global _manager
    if _manager is None:
        _manager = ThemeManager()
    return _manager


def current_theme() -> Theme:
    return theme_manager().theme
