"""The step bar's, the training buttons' and the docks' icons stand out in either theme.

Contrast is WCAG 2's ratio of relative luminances; 3:1 is its minimum for
graphical objects that carry meaning (success criterion 1.4.11).
"""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QSize  # noqa: E402
from PySide6.QtGui import QColor, QImage  # noqa: E402
from PySide6.QtWidgets import QStyle  # noqa: E402

from bpviz.scene.theme import DARK, LIGHT, theme_manager  # noqa: E402
from bpviz.ui.stepping.step_bar import StepBar  # noqa: E402
from bpviz.ui.theme_icons import ThemedIconStyle  # noqa: E402
from bpviz.ui.training.controls import TrainingControls  # noqa: E402

WCAG_GRAPHICS = 3.0


def luminance(colour: QColor) -> float:
    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    return (0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF())
            + 0.0722 * linear(colour.blueF()))


def contrast(a: QColor, b: QColor) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def best_contrast(image: QImage, background: QColor) -> float:
    """The strongest contrast any pixel of `image` (over `background`) makes with it."""
    best = 1.0
    for y in range(image.height()):
        for x in range(image.width()):
            pixel = image.pixelColor(x, y)
            alpha = pixel.alphaF()
            shown = QColor.fromRgbF(*(alpha * c + (1 - alpha) * b for c, b in zip(
                (pixel.redF(), pixel.greenF(), pixel.blueF()),
                (background.redF(), background.greenF(), background.blueF()), strict=True)))
            best = max(best, contrast(shown, background))
    return best


@pytest.fixture
def themes():
    manager = theme_manager()
    yield manager
    manager.set_theme("light")


@pytest.mark.parametrize("theme", [LIGHT, DARK])
def test_the_step_bar_icons_stand_out_on_the_bar(qtbot, themes, theme):
    bar = StepBar()
    qtbot.addWidget(bar)
    themes.set_theme(theme.name)
    for action in (bar.reset_action, bar.back_action, bar.step_action, bar.end_action,
                   bar.play_action):
        button = bar.widgetForAction(action)
        button.setEnabled(True)
        image = button.grab().toImage()
        assert best_contrast(image, QColor(theme.window)) >= WCAG_GRAPHICS, action.text()


def test_an_icon_changes_colour_with_the_theme_without_being_set_again(qtbot, themes):
    bar = StepBar()
    qtbot.addWidget(bar)
    icon = bar.step_action.icon()
    themes.set_theme("dark")
    on_dark = icon.pixmap(QSize(16, 16)).toImage()
    themes.set_theme("light")
    on_light = icon.pixmap(QSize(16, 16)).toImage()
    assert best_contrast(on_dark, QColor(DARK.window)) >= WCAG_GRAPHICS
    assert best_contrast(on_light, QColor(LIGHT.window)) >= WCAG_GRAPHICS


def test_the_training_buttons_and_the_dock_buttons_stand_out_on_dark(qtbot, themes):
    controls = TrainingControls()
    qtbot.addWidget(controls)
    themes.set_theme("dark")
    window = QColor(DARK.window)
    for button in (controls.train_button, controls.pause_button, controls.stop_button):
        image = button.icon().pixmap(QSize(16, 16)).toImage()
        assert best_contrast(image, window) >= WCAG_GRAPHICS, button.text()
    style = ThemedIconStyle("Fusion")
    for standard in (QStyle.StandardPixmap.SP_DockWidgetCloseButton,
                     QStyle.StandardPixmap.SP_TitleBarNormalButton):
        image = style.standardIcon(standard).pixmap(QSize(16, 16)).toImage()
        assert best_contrast(image, window) >= WCAG_GRAPHICS, standard
