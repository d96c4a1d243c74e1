"""Canvas fixes: half-edited titles, the dark theme, long graphs wrapped into bands."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from bpviz.graph import load_graph  # noqa: E402
from bpviz.graph.layout import bands, columns_by_depth, layered_positions  # noqa: E402
from bpviz.scene import labels  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
from bpviz.scene.theme import theme_manager  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES  # noqa: E402

HALF_EDITED = {
    "format": "bpviz-graph", "version": 1, "name": "half edited",
    "nodes": [
        {"id": "x", "op": "input", "params": {"shape": [1, 8, 8]}},
        {"id": "c", "op": "conv2d", "inputs": ["x"],
         "params": {"out_channels": "many", "kernel": "k", "dilation": [1, "x"]}},
        {"id": "l", "op": "leaky_relu", "inputs": ["c"], "params": {"slope": "steep"}},
        {"id": "d", "op": "dropout", "inputs": ["l"], "params": {"p": "x"}},
        {"id": "m", "op": "maxpool2d", "inputs": ["d"], "params": {"kernel": None}},
        {"id": "q", "op": "mse", "inputs": ["m"], "params": {"reduction": ["a"]}},
    ]}


def scene_of(doc) -> GraphScene:
    return GraphScene(GraphEditor(doc))


def test_half_edited_values_do_not_stop_the_scene(qapp, tmp_path):
    path = tmp_path / "half.json"
    path.write_text(json.dumps(HALF_EDITED), encoding="utf-8")
    scene = scene_of(load_graph(path, strict=False))
    assert list(scene.nodes) == ["x", "c", "l", "d", "m", "q"]
    assert scene.nodes["d"].title == "dropout p=x"
    assert scene.nodes["l"].title == "leaky_relu steep"
    assert len(scene.wires) == 5


def test_titles_still_format_numbers():
    doc = load_graph(EXAMPLES / "dilated_convolutions.json")
    titles = [labels.node_title(node) for node in doc.nodes.values()]
    assert any(title.startswith("conv2d") and " d2" in title for title in titles)


def render(scene: GraphScene, rect: QRectF) -> QImage:
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    scene.render(painter, QRectF(image.rect()), rect)
    painter.end()
    return image


def lightness_at(scene: GraphScene, point: QPointF) -> float:
    rect = QRectF(point.x() - 2, point.y() - 2, 4, 4)
    return render(scene, rect).pixelColor(2, 2).lightnessF()


@pytest.fixture
def dark():
    manager = theme_manager()
    manager.set_theme("dark")
    yield manager.theme
    manager.set_theme("light")


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


@pytest.mark.parametrize("name", ["vgg16", "resnet_blocks", "deep_residual_20",
                                  "densenet_block"])
def test_long_graphs_wrap_into_bands(qapp, name):
    scene = scene_of(load_graph(EXAMPLES / f"{name}.json"))
    rects = [item.sceneBoundingRect() for item in scene.nodes.values()]
    box = scene.itemsBoundingRect()
    assert box.width() / box.height() < 4  # not one long row
    for i, a in enumerate(rects):
        for b in rects[i + 1:]:
            assert not a.intersects(b)
    bodies = [item.mapRectToScene(item.rect()) for item in scene.nodes.values()]
    for wire in scene.wires.values():
        if wire.dst.pos().x() < wire.src.pos().x():  # a wire that wraps: along the gap
            assert wire.lane is not None
            path = wire.path()
            own = (wire.src.mapRectToScene(wire.src.rect()),
                   wire.dst.mapRectToScene(wire.dst.rect()))
            points = [path.pointAtPercent(t / 60) for t in range(61)]
            for body in bodies:
                if body not in own:
                    assert not any(body.contains(p) for p in points)


def crossings_at_breaks(name: str) -> list[int]:
    doc = load_graph(EXAMPLES / f"{name}.json")
    columns = columns_by_depth(doc)
    parts = bands(doc, columns)
    assert len(parts) > 1
    column_of = {n: c for c, ids in enumerate(columns) for n in ids}
    counts, edge = [], 0
    for part in parts[:-1]:
        edge += len(part)
        counts.append(len({src for dst, node in doc.nodes.items() for src in node.inputs
                            if column_of[src] < edge <= column_of[dst]}))
    return counts


def test_bands_break_between_blocks():
    assert set(crossings_at_breaks("deep_residual_20")) == {1}
    # its bottleneck block is longer than a band: one break has to cut its skip
    assert sorted(crossings_at_breaks("resnet_blocks"))[:-1] == [1, 1]


def test_short_graphs_stay_on_one_row():
    doc = load_graph(EXAMPLES / "tiny_cnn.json")
    assert len({y for _, y in layered_positions(doc, wrap_after=12).values()}) == 1
    long = load_graph(EXAMPLES / "vgg16.json")
    assert len({y for _, y in layered_positions(long).values()}) == 1  # unless asked
    assert len({y for _, y in layered_positions(long, wrap_after=12).values()}) == 6


def test_arrange_wraps_long_graphs(qapp):
    scene = scene_of(load_graph(EXAMPLES / "vgg16.json"))
    scene.model.move_nodes({node_id: (i * 300.0, 0.0) for i, node_id in
                             enumerate(scene.model.doc.nodes)})
    scene.model.arrange()
    assert len({round(pos[1]) for pos in scene.item_positions().values()}) == 6
