"""Presentation mode (F11) for a projector: large text, high contrast, the graph fitted.

`enter` returns what `leave` needs to put the window back as it was. While
presenting: the window fills the screen without menu bar, status bar, palette
and inspector; the step bar stays with its step indicator and controls only
(large icons; its batch, seed, weights, speed and torch check hidden); every
text is `scale` times larger (widgets, the step indicator, canvas labels, the
formula, the tensor plots); the high-contrast theme is used (white on black,
thick lines, the current node in yellow); the canvas is fitted and stays fitted; space
and the arrow keys step (→ ↓ space forward, ← ↑ back) and Esc leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QColor, QIcon, QKeySequence, QPainter, QPixmap, QPolygonF
from PySide6.QtWidgets import QApplication, QToolBar

from bpviz.scene import fonts
from bpviz.scene.theme import CONTRAST, current_theme, theme_manager

if TYPE_CHECKING:
    from bpviz.ui.main_window import MainWindow

FORWARD_KEYS = ("Space", "Right", "Down")
BACK_KEYS = ("Left", "Up")
STEP_BAR = "step_bar"
BAR_ICON = 40  # px: the step bar's icons while presenting
STEP_TEXT = 1.1  # the step indicator is this much larger again than the other text


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


def glyph_icon(kind: str, colour: QColor) -> QIcon:
    """A step control drawn in `colour` (the style's icons are dark on any theme):
    kind is "reset", "back", "step", "end", "play" or "pause"."""
    pixmap = QPixmap(BAR_ICON, BAR_ICON)
    pixmap.fill(QColor(0, 0, 0, 0))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(colour)
    unit = BAR_ICON / 10

    def triangle(x: float, right: bool) -> None:
        tip, base = (x + 3.5 * unit, x) if right else (x, x + 3.5 * unit)
        painter.drawPolygon(QPolygonF([QPointF(base, 2 * unit), QPointF(base, 8 * unit),
                                       QPointF(tip, 5 * unit)]))

    def bar(x: float) -> None:
        painter.drawRect(QRectF(x, 2 * unit, 1.2 * unit, 6 * unit))

    shapes = {"reset": lambda: (bar(1.5 * unit), triangle(3 * unit, False),
                                triangle(5.5 * unit, False)),
              "back": lambda: (triangle(1.5 * unit, False), triangle(5 * unit, False)),
              "step": lambda: (triangle(1.5 * unit, True), triangle(5 * unit, True)),
              "end": lambda: (triangle(1.5 * unit, True), triangle(4 * unit, True),
                              bar(7.3 * unit)),
              "play": lambda: painter.drawPolygon(QPolygonF(
                  [QPointF(3 * unit, 2 * unit), QPointF(3 * unit, 8 * unit),
                   QPointF(8 * unit, 5 * unit)])),
              "pause": lambda: (bar(3 * unit), bar(5.8 * unit))}
    shapes[kind]()
    painter.end()
    return QIcon(pixmap)


def _present_bar(bar, scale: float) -> dict:
    """The step bar with large text and icons and nothing but the steps; returns
    what `_restore_bar` needs."""
    actions = {"reset": bar.reset_action, "back": bar.back_action, "step": bar.step_action,
               "end": bar.end_action, "play": bar.play_action}
    saved = {"label": bar.label.font(), "icons": bar.iconSize(), "hidden": [],
             "glyphs": {act: act.icon() for act in actions.values()}}
    bar.label.setFont(_scaled(bar.label.font(), scale * STEP_TEXT))  # a font of its own
    bar.setIconSize(QSize(BAR_ICON, BAR_ICON))
    text = QColor(CONTRAST.text)
    for kind, act in actions.items():
        act.setIcon(glyph_icon(kind, text))

    def playing(on: bool) -> None:  # once the bar has put the style's icon back
        QTimer.singleShot(0, lambda: bar.play_action.setIcon(
            glyph_icon("pause" if on else "play", text)))

    saved["playing"] = bar.play_action.toggled.connect(playing)
    settings = (bar.speed, bar.speed_label, bar.batch, bar.seed, bar.weights)
    for act in bar.actions():
        if act.isVisible() and (act.isSeparator() or act is bar.verify_action
                                or bar.widgetForAction(act) in settings):
            act.setVisible(False)
            saved["hidden"].append(act)
    return saved


def _restore_bar(bar, saved: dict) -> None:
    bar.play_action.toggled.disconnect(saved["playing"])
    for act, icon in saved["glyphs"].items():
        act.setIcon(icon)
    bar.label.setFont(saved["label"])
    bar.setIconSize(saved["icons"])
    for act in saved["hidden"]:
        act.setVisible(True)


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
             "zoom": window.view.transform(), "fitted": window.view.fitted,
             "bar": _present_bar(window.stepping.bar, scale)}
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
    _restore_bar(window.stepping.bar, saved["bar"])
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
