"""Toolbar and dock icons drawn in the palette's text colour, so they follow the theme.

Qt's stock media and title-bar icons are fixed dark pixmaps, nearly invisible
on the dark theme's bars. `themed_icon(kind)` returns a QIcon whose pixmaps
are drawn when asked for, with the running application's ButtonText colour
(the disabled one when the icon is shown disabled): a theme switch changes
the palette, the widgets repaint, and the icons come out in the new colour
without anyone setting them again. KINDS lists the shapes. ThemedIconStyle
hands the same icons out for Qt's standard pixmaps (the dock widgets' float
and close buttons, the media icons).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QIcon,
    QIconEngine,
    QPainter,
    QPainterPath,
    QPalette,
    QPen,
    QPixmap,
    QTransform,
)
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle

GRID = 16.0  # the shapes are drawn on a 16 × 16 grid, scaled to the icon's size


def _triangle(left: float, right: float, top: float = 3.0, bottom: float = 13.0) -> QPainterPath:
    path = QPainterPath()
    path.moveTo(left, top)
    path.lineTo(right, (top + bottom) / 2)
    path.lineTo(left, bottom)
    path.closeSubpath()
    return path


def _bar(x: float, width: float, top: float = 3.0, bottom: float = 13.0) -> QPainterPath:
    path = QPainterPath()
    path.addRect(QRectF(x, top, width, bottom - top))
    return path


def _mirrored(path: QPainterPath) -> QPainterPath:
    return QTransform(-1, 0, 0, 1, GRID, 0).map(path)


def _filled_shapes() -> dict[str, QPainterPath]:
    play = _triangle(4, 13)
    seek = _triangle(1.5, 8).united(_triangle(8, 14.5))
    skip = _triangle(1, 7, 4, 12).united(_triangle(7, 13, 4, 12)).united(_bar(13, 2, 4, 12))
    pause = _bar(3.5, 3).united(_bar(9.5, 3))
    stop = QPainterPath()
    stop.addRect(QRectF(3.5, 3.5, 9, 9))
    return {"play": play, "pause": pause, "stop": stop,
            "seek_forward": seek, "seek_backward": _mirrored(seek),
            "skip_forward": skip, "skip_backward": _mirrored(skip)}


def _outlined_shapes() -> dict[str, QPainterPath]:
    close = QPainterPath()
    close.moveTo(4, 4)
    close.lineTo(12, 12)
    close.moveTo(12, 4)
    close.lineTo(4, 12)
    restore = QPainterPath()
    restore.addRect(QRectF(3.5, 6.5, 6, 6))
    restore.moveTo(6.5, 6.5)
    restore.lineTo(6.5, 3.5)
    restore.lineTo(12.5, 3.5)
    restore.lineTo(12.5, 9.5)
    restore.lineTo(9.5, 9.5)
    return {"close": close, "restore": restore}


FILLED = _filled_shapes()
OUTLINED = _outlined_shapes()
KINDS = tuple(FILLED) + tuple(OUTLINED)


def icon_colour(mode: QIcon.Mode = QIcon.Mode.Normal) -> QColor:
    """The colour an icon is drawn in now: the application palette's button text."""
    palette = QApplication.palette()
    if mode == QIcon.Mode.Disabled:
        return palette.color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText)
    if mode == QIcon.Mode.Selected:
        return palette.color(QPalette.ColorRole.HighlightedText)
    return palette.color(QPalette.ColorRole.ButtonText)


class PaletteIconEngine(QIconEngine):
    """Draws one of KINDS in `icon_colour(mode)` each time a pixmap is asked for."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"unknown icon {kind!r} (icons: {', '.join(KINDS)})")
        self.kind = kind

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        side = min(rect.width(), rect.height())
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.translate(QPointF(rect.x() + (rect.width() - side) / 2,
                                  rect.y() + (rect.height() - side) / 2))
        painter.scale(side / GRID, side / GRID)
        colour = icon_colour(mode)
        if self.kind in FILLED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawPath(FILLED[self.kind])
        else:
            painter.setPen(QPen(colour, 1.6))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawPath(OUTLINED[self.kind])
        painter.restore()

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pixmap = QPixmap(size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        self.paint(painter, QRect(0, 0, size.width(), size.height()), mode, state)
        painter.end()
        return pixmap

    def clone(self) -> QIconEngine:
        return PaletteIconEngine(self.kind)

    def key(self) -> str:
        return "bpviz-palette"


def themed_icon(kind: str) -> QIcon:
    """The icon `kind` (one of KINDS), always in the current palette's text colour."""
    return QIcon(PaletteIconEngine(kind))


SP = QStyle.StandardPixmap
STANDARD_KINDS = {
    SP.SP_MediaPlay: "play", SP.SP_MediaPause: "pause", SP.SP_MediaStop: "stop",
    SP.SP_MediaSeekForward: "seek_forward", SP.SP_MediaSeekBackward: "seek_backward",
    SP.SP_MediaSkipForward: "skip_forward", SP.SP_MediaSkipBackward: "skip_backward",
    SP.SP_DockWidgetCloseButton: "close", SP.SP_TitleBarCloseButton: "close",
    SP.SP_TitleBarNormalButton: "restore",
}


class ThemedIconStyle(QProxyStyle):
    """A style (Fusion underneath) whose media and dock-button icons follow the theme."""

    def standardIcon(self, standard, option=None, widget=None) -> QIcon:  # noqa: N802 (Qt)
        kind = STANDARD_KINDS.get(standard)
        if kind is not None:
            return themed_icon(kind)
        return super().standardIcon(standard, option, widget)
