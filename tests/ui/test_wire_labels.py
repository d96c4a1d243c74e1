"""Shape labels on the canvas stay readable: no two overlap, none covers a port or
hides under a node, in every example, in ResNet-50 with its stages unfolded, and
while a backward step lifts them above their coloured wires."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402

from bpviz.graph import load_graph  # noqa: E402
from bpviz.scene.model import DocumentModel  # noqa: E402
from bpviz.scene.port_item import PORT_RADIUS  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
from tests.ui.windowkit import EXAMPLES  # noqa: E402


def port_circle(point: QPointF) -> QRectF:
    return QRectF(point.x() - PORT_RADIUS, point.y() - PORT_RADIUS,
                  2 * PORT_RADIUS, 2 * PORT_RADIUS)


def scene_of(name: str, unfold: tuple[str, ...] = ()) -> GraphScene:
    doc = load_graph(EXAMPLES / f"{name}.json")
    for group in unfold:
        doc.set_folded(group, False)
    return GraphScene(DocumentModel(doc))


def clashes(scene: GraphScene) -> list[str]:
    """Every label that overlaps another label, a port or a node, as drawn."""
    doc = scene.model.doc
    shown = [item for item in scene.nodes.values() if item.isVisible()]
    boxes = list(scene.folding.boxes.values())
    ports = [port_circle(item.out_port_pos()) for item in shown if item.out_port is not None]
    ports += [port_circle(item.in_port_pos(port)) for item in shown
              for port in range(len(doc.nodes[item.node_id].inputs))]
    ports += [port_circle(box.out_port_pos()) for box in boxes]
    ports += [port_circle(box.in_port_pos(port)) for box in boxes
              for port in range(len(box.summary.sources))]
    bodies = [item.mapRectToScene(item.rect()) for item in [*shown, *boxes]]
    labels = [(wire.key, wire.label_rect()) for wire in scene.wires.values()
              if wire.isVisible() and wire.label]
    assert labels
    found = []
    for index, (key, rect) in enumerate(labels):
        found += [f"{key} on label {other}" for other, rect2 in labels[index + 1:]
                  if rect.intersects(rect2)]
        found += [f"{key} on a port" for port in ports if rect.intersects(port)]
        found += [f"{key} under a node" for body in bodies if rect.intersects(body)]
    return found


@pytest.mark.parametrize("name", ["resnet50", "vgg16", "densenet_block", "deep_residual_20",
                                  "resnet_blocks", "dilated_convolutions", "tiny_cnn"])
def test_no_label_overlaps_a_label_a_port_or_a_node(qapp, name):
    assert clashes(scene_of(name)) == []


def test_resnet50_with_a_stage_unfolded_keeps_its_labels_apart(qapp):
    """layer1's first block: the shortcut (downsample) and the main path run side
    by side, and the rows the layout wraps into send wires back along one corridor."""
    assert clashes(scene_of("resnet50", ("layer1",))) == []
    assert clashes(scene_of("resnet50", ("stem", "layer1", "layer2", "head"))) == []


def test_labels_lifted_above_gradient_coloured_wires_stay_apart(qapp):
    scene = scene_of("resnet50", ("layer1",))
    norms = {(wire.src.node_id, dst, port): 1.0 + port
             for (dst, port), wire in scene.wires.items()}
    scene.show_step(None, norms, set(), "backward")
    assert all(wire.note for wire in scene.wires.values())
    assert clashes(scene) == []


def test_arrange_leaves_room_for_the_labels(qapp):
    from bpviz.ui.editor import GraphEditor

    editor = GraphEditor(load_graph(EXAMPLES / "vgg16.json"))
    scene = GraphScene(editor)
    editor.arrange()
    scene.route_all()
    assert clashes(scene) == []
    # Room on the wire itself: every label of a wire between neighbours sits on it.
    for wire in scene.wires.values():
        start, end = wire.ends()
        if abs(start.y() - end.y()) < 1:
            assert wire.label_rect().contains(wire.label_rect().center().x(), start.y())
