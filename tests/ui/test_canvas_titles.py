"""Node titles on the canvas: half-edited values do not stop the scene, numbers are formatted."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import load_graph  # noqa: E402
from bpviz.scene import labels  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
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
