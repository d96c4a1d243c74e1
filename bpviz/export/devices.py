"""The three kinds of picture a figure is painted into: SVG, PDF and raster.

Each takes the picture's size in figure pixels (base_dpi() per inch, the
canvas's scene units at 100 % zoom) and a `paint(painter)` callable, and
sets its device to that resolution, so point-sized text comes out exactly
as large as the canvas measured it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSize, QSizeF
from PySide6.QtGui import QColor, QImage, QPageSize, QPainter, QPdfWriter

from bpviz.export.base import ExportError, set_dpi

Paint = Callable[[QPainter], None]
MIN_DPI, MAX_DPI, MAX_SIDE = 10, 2400, 30000


def base_dpi() -> float:
    """Figure pixels per inch: the screen's logical DPI the canvas was measured with."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    return float(screen.logicalDotsPerInchY()) if screen is not None else 96.0


def check_dpi(dpi: float) -> float:
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise ExportError(f"the DPI must lie between {MIN_DPI} and {MAX_DPI}, got {dpi:g}")
    return float(dpi)


def _painted(device, paint: Paint) -> None:
    painter = QPainter(device)
    try:
        paint(painter)
    finally:
        painter.end()


def svg_document(size: QSizeF | QSize, paint: Paint, title: str = "") -> bytes:
    """What `paint` draws, as an SVG document of `size` figure pixels."""
    from PySide6.QtSvg import QSvgGenerator

    size = QSize(math.ceil(size.width()), math.ceil(size.height()))
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(size)
    generator.setViewBox(QRectF(0, 0, size.width(), size.height()))
    generator.setResolution(round(base_dpi()))
    if title:
        generator.setTitle(title)
    _painted(generator, paint)
    buffer.close()
    return bytes(array.data())


def svg_fragment(size: QSizeF | QSize, paint: Paint) -> ET.Element:
    """`svg_document`, parsed."""
    return ET.fromstring(svg_document(size, paint))


def pdf_document(size: QSizeF, paint: Paint, title: str = "") -> bytes:
    """What `paint` draws, as a one-page vector PDF exactly `size` large."""
    dpi = base_dpi()
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(round(dpi))
    writer.setCreator("bpviz")
    writer.setTitle(title or "bpviz")
    points = QSizeF(size.width() * 72 / dpi, size.height() * 72 / dpi)
    writer.setPageSize(QPageSize(points, QPageSize.Unit.Point, "figure",
                                 QPageSize.SizeMatchPolicy.ExactMatch))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    _painted(writer, paint)
    buffer.close()
    return bytes(array.data())


def raster_size(size: QSizeF, dpi: float | None = None) -> tuple[int, int]:
    """The pixels (width, height) of a picture of figure size `size` at `dpi`."""
    scale = (base_dpi() if dpi is None else dpi) / base_dpi()
    return math.ceil(size.width() * scale), math.ceil(size.height() * scale)


def raster_image(size: QSizeF, paint: Paint, dpi: float | None = None) -> QImage:
    """What `paint` draws, as an ARGB QImage at `dpi` (default: base_dpi(), one pixel
    per figure pixel): ceil(size × dpi / base) pixels, its DPI recorded."""
    base = base_dpi()
    dpi = base if dpi is None else check_dpi(dpi)
    scale = dpi / base
    width, height = raster_size(size, dpi)
    if max(width, height) > MAX_SIDE:
        raise ExportError(f"{width}×{height} pixels is too large (at most {MAX_SIDE} a side); "
                          "choose a lower DPI")
    image = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(0, 0, 0, 0))
    set_dpi(image, base)  # text as large as the canvas measured it

    def scaled(painter: QPainter) -> None:
        painter.scale(scale, scale)
        paint(painter)

    _painted(image, scaled)
    set_dpi(image, dpi)
    return image
