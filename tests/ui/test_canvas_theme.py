"""The canvas follows the app's theme: node bodies and the empty canvas turn dark and back."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from bpviz.graph import load_graph  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
from bpviz.scene.theme import theme_manager  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES  # noqa: E402


def scene_of(doc) -> GraphScene:
    return GraphScene(GraphEditor(doc))


def render(scene: GraphScene, rect: QRectF) -> QImage:
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    return image


def lightness_at(scene: GraphScene, point: QPointF) -> float:
    rect = QRectF(point.x() - 2, point.y() - 2, 4, 4)
    return render(scene, rect).pixelColor(2, 2).lightnessF()


def test_canvas_follows_the_theme(qapp):
    scene = scene_of(load_graph(EXAMPLES / "tiny_cnn.json"))
    item = scene.nodes["c1"]
    body = item.mapToScene(QPointF(0, item.rect().bottom() - 12))
    empty = item.mapToScene(QPointF(0, item.rect().top() - 60))
    assert lightness_at(scene, body) > 0.8 and lightness_at(scene, empty) > 0.8
    theme_manager().set_theme("dark")
    try:
        assert lightness_at(scene, body) < 0.3
        assert lightness_at(scene, empty) < 0.2
        assert scene.backgroundBrush().color() == QColor(theme_manager().theme.canvas[
            "background"])
    finally:
        theme_manager().set_theme("light")
    assert lightness_at(scene, empty) > 0.8
