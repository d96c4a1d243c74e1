"""The keys of the explained entry: the arrow keys and Page Up/Down move it, Esc clears it.

One table, ENTRY_KEYS, for their handling (EntryLink's event filter reads
MOVES and CLEARS) and for Help › Keyboard Shortcuts (`entry_key_rows`), so
the list cannot drift from what the keys do. A move is (rows, columns, maps):
Left/Right along a map's columns or a vector, Up/Down along its rows, Page
Up/Down through the maps.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

Key = Qt.Key
ENTRY_KEYS: tuple[tuple[str, tuple[tuple[Key, tuple[int, int, int] | None], ...]], ...] = (
    ("Explained entry: a column left, right", ((Key.Key_Left, (0, -1, 0)),
                                                (Key.Key_Right, (0, 1, 0)))),
    ("Explained entry: a row up, down", ((Key.Key_Up, (-1, 0, 0)),
                                          (Key.Key_Down, (1, 0, 0)))),
    ("Explained entry: the previous, next map", ((Key.Key_PageUp, (0, 0, -1)),
                                                  (Key.Key_PageDown, (0, 0, 1)))),
    ("Explained entry: clear", ((Key.Key_Escape, None),)),
)
MOVES = {key: move for _name, keys in ENTRY_KEYS for key, move in keys if move is not None}
CLEARS = frozenset(key for _name, keys in ENTRY_KEYS for key, move in keys if move is None)
WHERE = " (Tensors or Formula panel)"  # where the keys work


def entry_key_rows() -> list[tuple[str, str]]:
    """(what, its keys) for each row of ENTRY_KEYS, the keys as the shortcut list
    writes them."""
    return [(name + WHERE, ", ".join(QKeySequence(key).toString(
        QKeySequence.SequenceFormat.NativeText) for key, _move in keys))
        for name, keys in ENTRY_KEYS]
