"""Room for the canvas in a small window: the docks give way before it does.

QMainWindow shrinks the central widget first and leaves the docks as they
are, so in a small window the canvas ends up a postage stamp between full
sized panels. `make_room` shrinks the side and bottom docks (never below
what their contents need) until the canvas has CANVAS_SHARE of the width and
of the height it shares with them. Windows where the canvas already has
that much (the default 1600×1000 layout) are left alone.

`give_room` is the other way round, for a panel the user is about to watch
(the Training panel when a run starts): it brings the dock to the front of
its tab group and grows it to what the panel asks for, up to ROOM_SHARE of
the window, whatever size a saved layout left it at. `make_room` then keeps
that room until the window is resized (`forget_room`).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

CANVAS_SHARE = 0.5
ROOM_SHARE = 0.55  # the most of the window's width or height `give_room` takes
RELEASED = "bpvizHeightReleased"  # set on a panel whose minimum height make_room lowered
GIVEN = "bpvizRoomGiven"  # the size give_room gave a dock, kept by make_room

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
            [max(least(dock).width() for dock in docks) for docks in sides],
            Qt.Orientation.Horizontal)
    release_hidden_tabs(window)
    bottom = docked(window, Area.BottomDockWidgetArea)
    if bottom:
        _resize(window, [bottom[0]], canvas.height(), [max(d.height() for d in bottom)],
                [max(least(d).height() for d in bottom)],
                Qt.Orientation.Vertical)


def least(dock: QDockWidget) -> QSize:
    """How small `make_room` may make `dock`: what its panel needs, or the room
    `give_room` gave it."""
    given = dock.property(GIVEN)
    need = dock.minimumSizeHint()
    return need.expandedTo(given) if isinstance(given, QSize) else need


def give_room(window: QMainWindow, dock: QDockWidget, wanted: Callable[[int], QSize]) -> None:
    """Show `dock` in front of its tab group and make it as large as `wanted(most)`
    asks (`most`: the width it can have), up to ROOM_SHARE of the window."""
    dock.show()
    dock.raise_()
    content = dock.widget()
    if content.property(RELEASED):  # in front now: it asks for its height again
        content.setMinimumHeight(0)
        content.setProperty(RELEASED, False)
    if dock.isFloating():
        return
    area = window.dockWidgetArea(dock)
    across = area in (Area.BottomDockWidgetArea, Area.TopDockWidgetArea)
    neighbours = [other for other in docked(window, area)
                  if other is not dock and other not in window.tabifiedDockWidgets(dock)
                  and across and _side_by_side(other, dock)]
    most = (window.width() - sum(other.minimumSizeHint().width() for other in neighbours)
            if across else round(window.width() * ROOM_SHARE))
    width = min(wanted(max(most, dock.minimumSizeHint().width())).width(), most)
    if width > dock.width() and not across:
        window.resizeDocks([dock], [width], Qt.Orientation.Horizontal)
    elif width > dock.width():
        # NOTE: Qt shares a size given to one dock of a row among the row, so the
        # neighbours are given the rest, in proportion to their widths now.
        rest = sum(other.width() for other in neighbours) + dock.width() - width
        before = max(sum(other.width() for other in neighbours), 1)
        window.resizeDocks(neighbours + [dock],
                           [other.width() * rest // before for other in neighbours] + [width],
                           Qt.Orientation.Horizontal)
    if across:  # the height it needs at the width it now has
        QTimer.singleShot(0, lambda: _give_height(window, dock, wanted))


def _give_height(window: QMainWindow, dock: QDockWidget, wanted: Callable[[int], QSize],
                 extra: int | None = None) -> None:
    """Grow `dock` to the height `wanted` asks at its width. `extra`: what the area
    adds around the dock (a tab bar), learnt from a first try (None: try first)."""
    chrome = dock.height() - dock.widget().height()  # the dock's title bar
    height = min(wanted(dock.widget().width()).height() + chrome,
                 round(window.height() * ROOM_SHARE))
    dock.setProperty(GIVEN, QSize(0, height))
    if dock.height() >= height:
        return
    window.resizeDocks([dock], [height + (extra or 0)], Qt.Orientation.Vertical)
    if extra is None:
        # NOTE: the size given is the area's, tab bar included: try again with the
        # difference once the first try is laid out.
        asked = height
        QTimer.singleShot(0, lambda: _give_height(window, dock, wanted,
                                                  max(0, asked - dock.height())))


def _side_by_side(one: QDockWidget, other: QDockWidget) -> bool:
    """In one row of a top or bottom dock area."""
    a, b = one.geometry(), other.geometry()
    return a.top() < b.bottom() and b.top() < a.bottom()


def forget_room(window: QMainWindow) -> None:
    """The window was resized: `make_room` may shrink every dock again."""
    for dock in window.findChildren(QDockWidget):
        if dock.property(GIVEN) is not None:
            dock.setProperty(GIVEN, None)


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
