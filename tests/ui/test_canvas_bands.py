"""Long graphs wrap into bands on the canvas: breaks between blocks, wires along the gaps,
short graphs on one row."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import load_graph  # noqa: E402
from bpviz.graph.layout import bands, columns_by_depth, layered_positions  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES  # noqa: E402


def scene_of(doc) -> GraphScene:
    return GraphScene(GraphEditor(doc))


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
