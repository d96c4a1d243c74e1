"""Room for the canvas in a small window: the docks give way before it does.

QMainWindow shrinks the central widget first and leaves the docks as they
are, so in a small window the canvas ends up a postage stamp between full
sized panels. `make_room` shrinks the side and bottom docks (never below
what their contents need) until the canvas has CANVAS_SHARE of the width and
of the height it shares with them. Windows where the canvas already has
that much (the default 1600×1000 layout) are left alone.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

CANVAS_SHARE = 0.5
RELEASED = "bpvizHeightReleased"  # set on a panel whose minimum height make_room lowered

Area = Qt.DockWidgetArea


def docked(window: QMainWindow, area: Qt.DockWidgetArea) -> list[QDockWidget]:
    """The docks of `area` in sight (not floating, not behind another's tab)."""
    return [dock for dock in window.findChildren(QDockWidget)
            if dock.isVisible() and not dock.isFloating() and not behind_a_tab(window, dock)
            and window.dockWidgetArea(dock) == area]


def shrunk_sizes(canvas: int, sizes: list[int], minimums: list[int]) -> list[int] | None:
    """New sizes of the docks beside a canvas of `canvas` pixels that give it
    CANVAS_SHARE of the whole; None when it already has that much."""
    total = canvas + sum(sizes)
    if not sizes or canvas >= CANVAS_SHARE * total:
        return None
    scale = (1 - CANVAS_SHARE) * total / sum(sizes)
    wanted = [max(minimum, round(size * scale)) for size, minimum in zip(sizes, minimums)]
    return wanted if wanted != sizes else None


def make_room(window: QMainWindow, canvas: QWidget) -> None:
    """Shrink the side docks, then the bottom docks, to give `canvas` its share."""
    sides = [docks for docks in (docked(window, Area.LeftDockWidgetArea),
                                 docked(window, Area.RightDockWidgetArea)) if docks]
    _resize(window, [docks[0] for docks in sides], canvas.width(),
            [max(dock.width() for dock in docks) for docks in sides],
            [max(dock.minimumSizeHint().width() for dock in docks) for docks in sides],
            Qt.Orientation.Horizontal)
    release_hidden_tabs(window)
    bottom = docked(window, Area.BottomDockWidgetArea)
    if bottom:
        _resize(window, [bottom[0]], canvas.height(), [max(d.height() for d in bottom)],
                [max(d.minimumSizeHint().height() for d in bottom)],
                Qt.Orientation.Vertical)


def behind_a_tab(window: QMainWindow, dock: QDockWidget) -> bool:
    """Docked in a tab group with another tab in front (Qt keeps it "visible")."""
    return (dock.isVisible() and not dock.isFloating() and dock.visibleRegion().isEmpty()
            and bool(window.tabifiedDockWidgets(dock)))


def release_hidden_tabs(window: QMainWindow) -> None:
    """A panel behind another's tab asks for no height, so the tab in front alone
    decides how low the bottom docks may go (the training panel behind the
    formula no longer holds them up); it asks again once it is in front."""
    for dock in window.findChildren(QDockWidget):
        content = dock.widget()
        if content is None:
            continue
        behind = behind_a_tab(window, dock)
        if behind and content.minimumHeight() == 0:
            content.setMinimumHeight(1)
            content.setProperty(RELEASED, True)
        elif not behind and content.property(RELEASED):
            content.setMinimumHeight(0)
            content.setProperty(RELEASED, False)


def _resize(window: QMainWindow, docks: list[QDockWidget], canvas: int, sizes: list[int],
            minimums: list[int], orientation: Qt.Orientation) -> None:
    wanted = shrunk_sizes(canvas, sizes, minimums)
    if wanted is not None:
        window.resizeDocks(docks, wanted, orientation)
