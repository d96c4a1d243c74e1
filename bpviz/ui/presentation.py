"""Presentation mode (F11) for a projector: large text, high contrast, the graph fitted.

`enter` returns what `leave` needs to put the window back as it was. While
presenting: the window fills the screen without menu bar, status bar, palette
and inspector; the step bar (step indicator and controls) stays; every text is
`scale` times larger (widgets, canvas labels, the formula, the tensor plots);
the high-contrast theme is used; the canvas is fitted and stays fitted; space
and the arrow keys step (→ ↓ space forward, ← ↑ back) and Esc leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QToolBar

from bpviz.scene import fonts
from bpviz.scene.theme import CONTRAST, current_theme, theme_manager

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

FORWARD_KEYS = ("Space", "Right", "Down")
BACK_KEYS = ("Left", "Up")
STEP_BAR = "step_bar"


def step_keys(window: MainWindow) -> list[QAction]:
    """Presentation mode's stepping keys, as window actions (disabled until entered)."""
    bar = window.stepping.bar
    made = []
    for text, keys, target in (("Step (presentation)", FORWARD_KEYS, bar.step_action),
                               ("Step back (presentation)", BACK_KEYS, bar.back_action)):
        act = QAction(text, window)
        act.setShortcuts([QKeySequence(key) for key in keys])
        act.setEnabled(False)
        act.triggered.connect(lambda _checked=False, t=target: t.trigger())
        window.addAction(act)
        made.append(act)
    return made


def _scaled(font, scale: float):
    font.setPointSizeF(font.pointSizeF() * scale)
    return font


def enter(window: MainWindow, scale: float) -> dict:
    """Present: see the module's docstring."""
    app = QApplication.instance()
    palette_dock, inspector_dock = window.docks
    formula, tensors = window.stepping.formula, window.stepping.tensors
    bars = [bar for bar in window.findChildren(QToolBar) if bar.objectName() != STEP_BAR]
    saved = {"font": app.font(), "maximized": window.isMaximized(),
             "fullscreen": window.isFullScreen(), "palette": palette_dock.isVisible(),
             "inspector": inspector_dock.isVisible(), "theme": current_theme(),
             "formula": (formula.text.font(), formula.title.font()),
             "tensors": tensors.font(), "bars": [(bar, bar.isVisible()) for bar in bars],
             "zoom": window.view.transform(), "fitted": window.view.fitted}
    app.setFont(_scaled(app.font(), scale))
    formula.text.setFont(_scaled(formula.text.font(), scale))
    formula.title.setFont(_scaled(formula.title.font(), scale))
    tensors.setFont(_scaled(tensors.font(), scale))
    fonts.set_font_scale(scale)
    theme_manager().use(CONTRAST)
    window.view.graph_scene.rebuild()
    window.stepping.redraw()
    palette_dock.hide()
    inspector_dock.hide()
    for bar, _shown in saved["bars"]:
        bar.hide()
    window.stepping.bar.show()
    window.menuBar().hide()
    window.statusBar().hide()
    window.showFullScreen()
    window.view.zoom_to_fit()
    for act in window.presentation_keys:
        act.setEnabled(True)
    return saved


def leave(window: MainWindow, saved: dict, scale: float) -> None:
    """Undo `enter`, with what it returned."""
    for act in window.presentation_keys:
        act.setEnabled(False)
    QApplication.instance().setFont(saved["font"])
    formula = window.stepping.formula
    formula.text.setFont(saved["formula"][0])
    formula.title.setFont(saved["formula"][1])
    window.stepping.tensors.setFont(saved["tensors"])
    fonts.set_font_scale(1.0)
    theme_manager().use(saved["theme"])
    window.view.graph_scene.rebuild()
    window.stepping.redraw()
    window.menuBar().show()
    window.statusBar().show()
    for bar, shown in saved["bars"]:
        bar.setVisible(shown)
    if saved["maximized"]:
        window.showMaximized()
    elif not saved["fullscreen"]:
        window.showNormal()
    window.docks[0].setVisible(saved["palette"])
    window.docks[1].setVisible(saved["inspector"])
    if saved["fitted"]:
        window.view.zoom_to_fit()
    else:
        window.view.setTransform(saved["zoom"])
