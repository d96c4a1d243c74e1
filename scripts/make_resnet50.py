"""Write resources/examples/resnet50.json, torchvision's ResNet-50 built from bpviz's ops.

    python scripts/make_resnet50.py [--out resources/examples/resnet50.json]

The layout is torchvision's resnet50 (He et al., Deep residual learning for
image recognition, 2016, with the stride on the 3×3 convolution as torchvision
places it): a 7×7 stem convolution with stride 2, batchnorm, ReLU and a 3×3
max pool with stride 2; four stages of 3, 4, 6 and 3 bottleneck blocks
(1×1, 3×3, 1×1 convolutions without bias, each followed by batchnorm, the
last one widening four times; a 1×1 convolution and batchnorm on the shortcut
of each stage's first block); global average pooling and a dense layer of 1000
units. Node ids follow torchvision's module names (layer1.0.conv1, …), and
every stage is a group (the stem, layer1 … layer4 and the head), folded when
the file opens. Only bpviz's own API is used.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bpviz.graph import dumps_graph
from bpviz.graph.document import GraphDocument, GroupData, NodeData

STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # width, blocks, first stride
DESCRIPTION = (
    "ResNet-50 as torchvision builds it (He, Zhang, Ren and Sun, Deep residual learning for "
    "image recognition, 2016): a 7×7 convolution with stride 2 and a 3×3 max pool with "
    "stride 2, then four stages of 3, 4, 6 and 3 bottleneck blocks, each block a 1×1 "
    "convolution that narrows the channels, a 3×3 convolution and a 1×1 convolution that "
    "widens them four times again, every convolution followed by batch normalisation, and "
    "the block's input added back before the last ReLU (through a 1×1 convolution where "
    "the shape changes); global average pooling and a dense layer of 1000 classes on a "
    "224×224 colour image. 25,557,032 parameters, the published count, 2,049,000 of them "
    "in the last dense layer. The stages open folded: each box gives its input and output "
    "shapes, its parameter count and the receptive field at its end; double-click one to "
    "see its blocks. The receptive field grows to 427×427 pixels at the last block, more "
    "than the image itself: the units near the centre see all of it. Too big to step with "
    "a large batch; step it with batch 1 or 2, or check it against torch at a smaller "
    "input size.")


class Builder:
    """Appends nodes in order and remembers which group each belongs to."""

    def __init__(self, size: int) -> None:
        self.doc = GraphDocument("ResNet-50 (224×224)" if size == 224
                                 else f"ResNet-50 ({size}×{size})", description=DESCRIPTION)
        self.group = ""

    def add(self, node_id: str, op: str, inputs: list[str], **params) -> str:
        self.doc.nodes[node_id] = NodeData(node_id, op, list(inputs), dict(params),
                                           group=self.group or None)
        if self.group and self.group not in self.doc.groups:
            self.doc.groups[self.group] = GroupData(self.group, folded=True)
        return node_id

    def conv_bn(self, prefix: str, name: str, src: str, channels: int, kernel: int,
                stride: int = 1, bn: str | None = None) -> str:
        conv = self.add(f"{prefix}{name}", "conv2d", [src], out_channels=channels,
                        kernel=kernel, **({"stride": stride} if stride != 1 else {}),
                        **({"padding": kernel // 2} if kernel > 1 else {}), bias=False)
        return self.add(f"{prefix}{bn or name.replace('conv', 'bn')}", "batchnorm", [conv])

    def bottleneck(self, prefix: str, src: str, width: int, stride: int,
                   shortcut: bool) -> str:
        out = self.conv_bn(prefix, "conv1", src, width, 1)
        out = self.add(f"{prefix}relu1", "relu", [out])
        out = self.conv_bn(prefix, "conv2", out, width, 3, stride)
        out = self.add(f"{prefix}relu2", "relu", [out])
        out = self.conv_bn(prefix, "conv3", out, 4 * width, 1)
        identity = src
        if shortcut:
            identity = self.conv_bn(prefix, "downsample.0", src, 4 * width, 1, stride,
                                    bn="downsample.1")
        out = self.add(f"{prefix}add", "add", [out, identity])
        return self.add(f"{prefix}relu3", "relu", [out])


def resnet50(size: int = 224) -> GraphDocument:
    """The graph, its nodes in the folded groups stem, layer1 … layer4 and head."""
    build = Builder(size)
    out = build.add("x", "input", [], shape=[3, size, size])
    build.group = "stem"
    out = build.conv_bn("", "conv1", out, 64, 7, 2)
    out = build.add("relu", "relu", [out])
    out = build.add("maxpool", "maxpool2d", [out], kernel=3, stride=2, padding=1)
    for index, (width, blocks, stride) in enumerate(STAGES, start=1):
        build.group = f"layer{index}"
        for block in range(blocks):
            out = build.bottleneck(f"layer{index}.{block}.", out, width,
                                   stride if block == 0 else 1, shortcut=block == 0)
    build.group = "head"
    out = build.add("avgpool", "global_avgpool", [out])
    out = build.add("fc", "dense", [out], units=1000)
    build.group = ""
    build.add("loss", "softmax_cross_entropy", [out])
    return build.doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1]
                                             / "resources" / "examples" / "resnet50.json"))
    parser.add_argument("--size", type=int, default=224, help="input height and width")
    args = parser.parse_args()
    Path(args.out).write_text(dumps_graph(resnet50(args.size)), encoding="utf-8")


if __name__ == "__main__":
    main()
