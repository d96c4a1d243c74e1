"""Wire routing: which wires must go around nodes, and on which lane (no Qt).

A wire is normally one S-shaped cubic from an output port to an input port.
When that curve would pass through other nodes (a skip connection drawn
across the nodes it skips), the wire instead leaves its port, runs along a
horizontal lane above or below those nodes and comes back down to its port.
Lanes are shared out like tracks: wires whose horizontal spans overlap get
different lanes, shorter wires nearer the nodes, so nested skips stay apart.

A wire that runs backwards (its consumer left of its source, as where a
long graph wraps into the next band) turns back on a return lane: the
middle of the widest free horizontal corridor between its two ends.

Plain floats and tuples throughout: routing runs on every mouse move of a
node drag, so it avoids a Qt call per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # left, top, right, bottom

SAMPLES = 24
REACH = 45.0  # how far a lane wire runs out of its port before turning
LANE_GAP = 30.0  # space between the nodes and the nearest lane
LANE_SPACING = 16.0  # space between two lanes


@dataclass
class WireSpec:
    key: object
    start: Point
    end: Point
    obstacles: list[Rect]  # every node rect except the wire's own two
    side: int = 0  # -1 prefers above, +1 below, 0 the nearer side


def controls(start: Point, end: Point) -> tuple[Point, Point]:
    """Control points of the plain S-curve from `start` to `end`."""
    dx, dy = abs(end[0] - start[0]), abs(end[1] - start[1])
    reach = max(50.0, dx * 0.5, dy * 0.25)
    return (start[0] + reach, start[1]), (end[0] - reach, end[1])


def cubic_points(p0: Point, p1: Point, p2: Point, p3: Point, n: int = SAMPLES) -> list[Point]:
    points = []
    for i in range(1, n):
        t = i / n
        u = 1 - t
        a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
        points.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0],
                       a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return points


def blocked_by(start: Point, end: Point, rects: list[Rect]) -> list[Rect]:
    """The rects that the plain curve from `start` to `end` passes through."""
    c1, c2 = controls(start, end)
    points = cubic_points(start, c1, c2, end)
    xs = [p[0] for p in points]
    low, high = min(xs), max(xs)
    hits = []
    for rect in rects:
        left, top, right, bottom = rect
        if right < low or left > high:
            continue
        if any(left <= x <= right and top <= y <= bottom for x, y in points):
            hits.append(rect)
    return hits


def _baseline(spec: WireSpec, blocked: list[Rect], above: bool) -> float:
    """The lane nearest the blocking nodes that cuts through no node on the way."""
    left, right = spec.start[0] + REACH, spec.end[0] - REACH
    in_span = [r for r in spec.obstacles if r[2] > left and r[0] < right]
    lane = (min(r[1] for r in blocked) - LANE_GAP if above
            else max(r[3] for r in blocked) + LANE_GAP)
    for _ in range(6):
        hits = [r for r in in_span if r[1] - 8 < lane < r[3] + 8]
        if not hits:
            break
        lane = (min(r[1] for r in hits) - LANE_GAP if above
                else max(r[3] for r in hits) + LANE_GAP)
    return lane


def _side(spec: WireSpec, blocked: list[Rect]) -> bool:
    """True for above."""
    if spec.side:
        return spec.side < 0
    middle = (spec.start[1] + spec.end[1]) / 2
    top, bottom = min(r[1] for r in blocked), max(r[3] for r in blocked)
    return middle - top <= bottom - middle


def plan(specs: list[WireSpec]) -> dict[object, float | None]:
    """key → the lane's y for wires that must go around nodes, None for plain curves."""
    lanes: dict[object, float | None] = {}
    routed = []
    returns = []
    for spec in specs:
        lanes[spec.key] = None
        if spec.end[0] < spec.start[0] - REACH:
            corridor = return_corridor(spec)
            if corridor is not None:
                returns.append((spec, corridor))
            continue
        if spec.end[0] - spec.start[0] < 2 * REACH:
            continue  # a very short wire: a plain curve
        blocked = blocked_by(spec.start, spec.end, spec.obstacles)
        if blocked:
            above = _side(spec, blocked)
            routed.append((spec, above, _baseline(spec, blocked, above)))
    taken: list[tuple[float, float, float]] = []  # (left, right, y) of lanes in use
    for spec, above, base in sorted(routed, key=lambda r: r[0].end[0] - r[0].start[0]):
        left, right = spec.start[0], spec.end[0]
        step = -LANE_SPACING if above else LANE_SPACING
        y = base
        while any(l0 < right and left < r0 and abs(y - y0) < LANE_SPACING * 0.9
                  for l0, r0, y0 in taken):
            y += step
        taken.append((left, right, y))
        lanes[spec.key] = y
    lanes.update(_share_corridors(returns))
    return lanes


def return_corridor(spec: WireSpec) -> tuple[float, float] | None:
    """(top, bottom) of the widest free horizontal strip between a backward wire's two
    ends, across its whole span; None when there is none wide enough."""
    left, right = spec.end[0] - 2 * REACH, spec.start[0] + 2 * REACH
    low, high = sorted((spec.start[1], spec.end[1]))
    blocks = sorted((max(r[1], low), min(r[3], high)) for r in spec.obstacles
                    if r[2] > left and r[0] < right and r[3] > low and r[1] < high)
    best, y = None, low
    for top, bottom in blocks + [(high, high)]:
        if top - y > (best[1] - best[0] if best else 2 * LANE_SPACING):
            best = (y, top)
        y = max(y, bottom)
    return best


def _share_corridors(returns: list[tuple[WireSpec, tuple[float, float]]]) -> dict:
    """Backward wires in one corridor get lanes LANE_SPACING apart around its middle."""
    lanes = {}
    groups: dict[tuple[float, float], list[WireSpec]] = {}
    for spec, corridor in returns:
        groups.setdefault(corridor, []).append(spec)
    for (top, bottom), group in groups.items():
        spacing = min(LANE_SPACING, (bottom - top) / (len(group) + 1))
        middle = (top + bottom) / 2
        for index, spec in enumerate(sorted(group, key=lambda s: s.start[0])):
            lanes[spec.key] = middle + (index - (len(group) - 1) / 2) * spacing
    return lanes
