"""Shape labels never cover a port: on VGG16's short wires they used to sit on
the ports they join."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPointF, QRectF  # noqa: E402

from bpviz.scene.port_item import PORT_RADIUS  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, make_window  # noqa: E402


def port_circle(point: QPointF) -> QRectF:
    return QRectF(point.x() - PORT_RADIUS, point.y() - PORT_RADIUS,
                  2 * PORT_RADIUS, 2 * PORT_RADIUS)


@pytest.mark.parametrize("name", ["vgg16", "tiny_cnn", "densenet_block"])
def test_no_wire_label_covers_a_port(qtbot, name):
    window, _answers = make_window(qtbot, EXAMPLES / f"{name}.json")
    settle()
    scene = window.view.graph_scene
    ports = []
    for item in scene.nodes.values():
        ports.append(port_circle(item.out_port_pos()))
        ports += [port_circle(item.in_port_pos(port))
                  for port in range(len(window.editor.doc.nodes[item.node_id].inputs))]
    labelled = [wire for wire in scene.wires.values() if wire.label]
    assert labelled
    covering = [(wire.key, wire.label) for wire in labelled
                if any(wire._label_rect.intersects(port) for port in ports)]
    assert not covering
