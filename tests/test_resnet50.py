"""The bundled ResNet-50: torchvision's layout, checked against the published figures and torch."""

from __future__ import annotations

import json

import pytest

from bpviz.cli import main
from bpviz.graph import load_graph
from bpviz.graph.examples import EXAMPLES


def info(capsys, path) -> tuple[int, dict[str, dict]]:
    assert main(["info", str(path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    return data["total_params"], {node["id"]: node for node in data["nodes"]}


def hand_receptive_field() -> int:
    # r grows by (k − 1)·jump at every layer; jump multiplies by the stride.
    field, jump = 1, 1
    for kernel, stride in ((7, 2), (3, 2)):  # stem conv1, maxpool
        field, jump = field + (kernel - 1) * jump, jump * stride
    for blocks, stride in ((3, 1), (4, 2), (6, 2), (3, 2)):
        for block in range(blocks):  # only the 3×3 convolution of a bottleneck widens it
            field += 2 * jump
            jump *= stride if block == 0 else 1
    return field


def test_resnet50_has_the_published_parameter_count_and_field(capsys):
    # torchvision's resnet50: 25,557,032 parameters; its receptive field is 427 pixels
    # (Araujo, Norris and Sim, Computing receptive fields of CNNs, Distill 2019).
    assert hand_receptive_field() == 427
    total, nodes = info(capsys, EXAMPLES / "resnet50.json")
    assert total == 25_557_032
    size = nodes["layer4.2.relu3"]["receptive_field"]["size"]
    assert size == [427, 427]
    assert nodes["layer4.2.relu3"]["output_shape"] == [2048, 7, 7]
    assert nodes["fc"]["params"] == 2048 * 1000 + 1000
    description = load_graph(EXAMPLES / "resnet50.json").description
    assert "25,557,032" in description and "427×427" in description


@pytest.mark.parametrize("stage, blocks", [(1, 3), (2, 4), (3, 6), (4, 3)])
def test_resnet50_stages_have_torchvisions_blocks(stage, blocks):
    doc = load_graph(EXAMPLES / "resnet50.json")
    adds = [node_id for node_id in doc.nodes if node_id.startswith(f"layer{stage}.")
            and node_id.endswith(".add")]
    assert len(adds) == blocks
    assert f"layer{stage}.0.downsample.0" in doc.nodes
    assert f"layer{stage}.1.downsample.0" not in doc.nodes
