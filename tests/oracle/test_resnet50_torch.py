"""The bundled ResNet-50 against torch: torchvision's layout written as plain torch.nn.

torchvision is not needed: `resnet50()` below is torchvision's ResNet-50 (v1.5,
the stride on the 3×3 convolution) written from its published description.
Importing it gives its parameter count and layer structure, which must be
the bundled graph's; `bpviz check` runs the bundled layout at 48×48 (the
224×224 graph is too big for a test) and must agree with torch.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from bpviz.cli import main  # noqa: E402
from bpviz.graph import infer_shapes, load_graph, save_graph  # noqa: E402
from bpviz.oracle.importer import import_module  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class ResNet(nn.Module):
    def __init__(self, layers=(3, 4, 6, 3), num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * 4, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride,
                                                 bias=False), nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet50_script():
    spec = importlib.util.spec_from_file_location("make_resnet50",
                                                  ROOT / "scripts" / "make_resnet50.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def structure(doc) -> list[tuple[str, int]]:
    """(op, parameter count) of every node but the loss, in order."""
    counts = infer_shapes(doc).param_counts
    return [(doc.nodes[i].op, counts[i]) for i in doc.topological_ids()
            if doc.nodes[i].op != "softmax_cross_entropy"]


def test_torch_resnet50_has_the_published_count_and_the_bundled_structure():
    model = ResNet()
    assert sum(p.numel() for p in model.parameters()) == 25_557_032  # published
    imported = import_module(model, (3, 64, 64))
    bundled = load_graph(ROOT / "resources" / "examples" / "resnet50.json")
    assert structure(imported.document) == structure(bundled)
    assert sum(count for _op, count in structure(imported.document)) == 25_557_032


def test_import_torch_groups_nodes_by_their_block():
    doc = import_module(ResNet(), (3, 32, 32)).document
    # One group per bottleneck block: 3 + 4 + 6 + 3; the stem and the head are the
    # root model's own layers.
    assert list(doc.groups)[:4] == ["layer1.0", "layer1.1", "layer1.2", "layer2.0"]
    assert len(doc.groups) == 16
    first = [doc.nodes[i].op for i in doc.group_members("layer1.0")]
    # conv1, bn1, relu, conv2, bn2, relu, conv3, bn3, the shortcut's conv and bn, add, relu
    assert sorted(first) == sorted(["conv2d", "batchnorm", "relu"] * 2 + ["conv2d", "batchnorm"]
                                   + ["conv2d", "batchnorm", "add", "relu"])
    assert doc.nodes["conv1"].group is None and doc.nodes["fc"].group is None


def test_bundled_resnet50_layout_agrees_with_torch_at_48_pixels(tmp_path, capsys):
    # At 48×48 the last stage is 2×2, so batchnorm there still sees 8 values a channel
    # (at 32×32, 1×1 and batch 2, it normalises two numbers and its gradient is rounding).
    doc = resnet50_script().resnet50(48)
    path = tmp_path / "resnet50_48.json"
    save_graph(doc, path)
    code = main(["check", str(path), "--batch", "2", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out)["ok"]
