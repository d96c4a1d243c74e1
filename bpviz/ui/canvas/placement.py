"""Where new nodes go: in sight, and on top of no other node.

Plain geometry on scene rectangles. A block (one new node, or the nodes of
a paste) is given as its boxes relative to its centre; `free_spot` moves
the centre the least that leaves every box clear of the drawn nodes,
preferring places inside the visible area.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF

GAP = 12.0  # scene units kept free between a new node and its neighbours
EDGE = 20.0  # scene units kept free between a new node and the view's edge
NEW_NODE = QRectF(-75.0, -42.0, 150.0, 84.0)  # a plain new node's box about its centre
RINGS = 8  # how far (in block sizes) a free place is looked for
# A new node without its inputs shows why it cannot run yet: wider and taller.
ERROR_WIDTH, ERROR_LINES = 210.0, 40.0


def with_room(box: QRectF) -> QRectF:
    """`box` (about its node's centre) grown to hold the error a new node may show."""
    width, height = max(box.width(), ERROR_WIDTH), box.height() + ERROR_LINES
    return QRectF(box.center().x() - width / 2, box.center().y() - height / 2, width, height)


def outline(boxes: list[QRectF]) -> QRectF:
    whole = QRectF(boxes[0])
    for box in boxes[1:]:
        whole = whole.united(box)
    return whole


def clear_of(boxes: list[QRectF], centre: QPointF, taken: list[QRectF],
             gap: float = GAP) -> bool:
    """Whether `boxes` moved to `centre` keep `gap` away from every box in `taken`."""
    for box in boxes:
        moved = box.translated(centre).adjusted(-gap, -gap, gap, gap)
        if any(moved.intersects(other) for other in taken):
            return False
    return True


def clamp_into(centre: QPointF, boxes: list[QRectF], seen: QRectF) -> QPointF:
    """`centre` moved the least that puts the block inside `seen` (EDGE kept
    free); a block wider or taller than `seen` is centred across it."""
    whole = outline(boxes)
    room = seen.adjusted(EDGE, EDGE, -EDGE, -EDGE)

    def clamp(value: float, low: float, high: float, middle: float) -> float:
        return middle if low > high else min(max(value, low), high)

    x = clamp(centre.x(), room.left() - whole.left(), room.right() - whole.right(),
              seen.center().x() - whole.center().x())
    y = clamp(centre.y(), room.top() - whole.top(), room.bottom() - whole.bottom(),
              seen.center().y() - whole.center().y())
    return QPointF(x, y)


def free_spot(centre: QPointF, boxes: list[QRectF], taken: list[QRectF],
              seen: QRectF) -> QPointF:
    """The nearest centre to `centre`, on a grid of the block's size, where the
    block overlaps no box in `taken`: inside `seen` if any is, else anywhere
    (else `centre` itself). Among equally near ones: below, then right."""
    whole = outline(boxes)
    step_x, step_y = whole.width() + 2 * GAP, whole.height() + 2 * GAP
    offsets = [(i, j) for i in range(-RINGS, RINGS + 1) for j in range(-RINGS, RINGS + 1)]
    offsets.sort(key=lambda o: (math.hypot(o[0] * step_x, o[1] * step_y), -o[1], -o[0]))
    fallback = None
    for i, j in offsets:
        spot = QPointF(centre.x() + i * step_x, centre.y() + j * step_y)
        if not clear_of(boxes, spot, taken):
            continue
        if seen.contains(whole.translated(spot)):
            return spot
        fallback = fallback or spot
    return fallback or centre
