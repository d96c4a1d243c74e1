"""Colours the canvas paints with: the theme's canvas colours and the gradient ramp.

`canvas(key)` looks the colour up in the theme in use at paint time, so a
theme switch only needs a repaint. `norm_colour(fraction)` maps a wire's
gradient norm, already normalised to 0..1 on a log scale, to the warm half of
CET-D1 (the diverging map the tensor panels use for gradients: zero is its
pale middle, large magnitudes its red end). The ramp starts a little past the
middle so that the smallest gradient still shows on a light background.
"""

from __future__ import annotations

import math

from PySide6.QtGui import QColor

from bpviz.scene.theme import current_theme

# CET-D1 sampled at 0.62, 0.7, 0.8, 0.9 and 1.0 (its positive half).
NORM_STOPS = ("#f0c0b4", "#eca08e", "#e17860", "#d34c35", "#c00206")
MIN_WIDTH, MAX_WIDTH = 2.0, 8.0
FORWARD_MARK = "#0072B2"  # done-in-forward bar: the input family's blue
BACKWARD_MARK = "#c00206"  # done-in-backward bar: the ramp's red end


def canvas(key: str) -> QColor:
    """A colour of the theme in use (background, node, node_text, wire, label,
    selection, error, frozen, grid)."""
    return current_theme().colour(key)


def step_mark(phase: str | None) -> QColor:
    """The current step's node: the theme's "active" colour, else the phase's mark."""
    active = current_theme().canvas.get("active")
    if active:
        return QColor(active)
    return QColor(FORWARD_MARK if phase != "backward" else BACKWARD_MARK)


def line_width(width: float) -> float:
    """A wire's or outline's usual `width`, as thick as the theme draws lines."""
    return width * current_theme().line_scale


def is_dark() -> bool:
    return canvas("background").lightnessF() < 0.5


def mix(a: QColor, b: QColor, t: float) -> QColor:
    """`a` moved a fraction `t` of the way to `b`."""
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t,
                           a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t,
                           a.alphaF() + (b.alphaF() - a.alphaF()) * t)


def muted_text() -> QColor:
    return mix(canvas("node_text"), canvas("node"), 0.4)


def norm_colour(fraction: float) -> QColor:
    """The ramp's colour at `fraction` (0: the smallest norm of the pass, 1: the largest)."""
    fraction = min(max(fraction, 0.0), 1.0) * (len(NORM_STOPS) - 1)
    low = min(int(fraction), len(NORM_STOPS) - 2)
    return mix(QColor(NORM_STOPS[low]), QColor(NORM_STOPS[low + 1]), fraction - low)


def norm_width(fraction: float) -> float:
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * min(max(fraction, 0.0), 1.0)


def log_fractions(norms: dict, span: tuple[float, float] | None = None) -> dict:
    """key → where the norm sits between the pass's smallest and largest, on a log scale.

    `span` is (smallest, largest) over the whole pass so colours do not shift as
    steps are added; without it, the given norms' own range. Zero norms get 0.
    """
    positive = [n for n in norms.values() if n > 0 and math.isfinite(n)]
    if span is None:
        span = (min(positive), max(positive)) if positive else (1.0, 1.0)
    low, high = (math.log10(max(v, 1e-30)) for v in span)
    fractions = {}
    for key, value in norms.items():
        if not (value > 0 and math.isfinite(value)):
            fractions[key] = 0.0 if value == 0 else 1.0
        elif high - low < 1e-9:
            fractions[key] = 1.0
        else:
            fractions[key] = min(max((math.log10(value) - low) / (high - low), 0.0), 1.0)
    return fractions


def format_norm(value: float) -> str:
    """‖g‖ as a short number: 0.034, 1.2e-05, 12."""
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e4:
        return f"{value:.3g}"
    return f"{value:.2g}".replace("e-0", "e-").replace("e+0", "e")
