"""Nested receptive boxes: published sizes, and the support of the effective field."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.receptive import field_layers, nested_boxes
from bpviz.engine.stepping import StepSession
from tests.engine.stepping_graphs import example_network


def chain(layers: list[tuple[str, str, dict]], in_shape=(1, 41, 41)) -> Network:
    nodes = [NodeSpec("x", OPS["input"](shape=list(in_shape)))]
    for node_id, op, hp in layers:
        nodes.append(NodeSpec(node_id, OPS[op](**hp), [nodes[-1].id]))
    return Network(nodes)


def vgg16() -> Network:
    """VGG16's convolutions and pools (3×3 convs padded by 1, 2×2 pools of stride 2)."""
    layers = []
    for block, convs in enumerate((2, 2, 3, 3, 3), start=1):
        for k in range(1, convs + 1):
            layers.append((f"conv{block}_{k}", "conv2d",
                           {"out_channels": 1, "kernel": 3, "padding": 1}))
            layers.append((f"relu{block}_{k}", "relu", {}))
        layers.append((f"pool{block}", "maxpool2d", {"kernel": 2}))
    return chain(layers, (3, 224, 224))


def test_the_dilated_example_nests_3_7_15_around_one_unit():
    # Yu & Koltun (2016), figure 1: dilations 1, 2, 4 give 3×3, 7×7 and 15×15.
    boxes = nested_boxes(example_network("dilated_convolutions"), "dil3_relu", 16, 16)
    assert [box.node for box in boxes] == ["dil1", "dil2", "dil3"]
    assert [box.size for box in boxes] == [(3, 3), (7, 7), (15, 15)]
    for box in boxes:
        size = box.size[0]
        assert box.unit == (16, 16)
        assert box.box == (16 - size // 2, 16 - size // 2, size, size)


def test_vgg16_pool5_sees_212_pixels():
    # Araujo, Norris & Sim, "Computing receptive fields of convolutional neural
    # networks" (Distill, 2019): VGG16's conv5_3 sees 196×196, pool5 212×212.
    boxes = nested_boxes(vgg16(), "pool5", 3, 3)
    sizes = {box.node: box.size[0] for box in boxes}
    assert len(boxes) == 18 and boxes[-1].node == "pool5"
    assert sizes["conv5_3"] == 196 and sizes["pool5"] == 212
    assert (sizes["conv1_1"], sizes["pool1"], sizes["pool2"], sizes["pool3"],
            sizes["pool4"]) == (3, 6, 16, 44, 100)


def test_pointwise_layers_and_one_by_one_convolutions_add_no_box():
    network = chain([("a", "conv2d", {"out_channels": 1, "kernel": 3}), ("r", "relu", {}),
                     ("one", "conv2d", {"out_channels": 1, "kernel": 1}),
                     ("b", "avgpool2d", {"kernel": 2})])
    assert field_layers(network, "b") == ["a", "b"]
    assert field_layers(network, "r") == ["a"]


def test_boxes_are_clipped_to_the_image_but_keep_their_size():
    boxes = nested_boxes(example_network("dilated_convolutions"), "dil3", 0, 31)
    assert [box.box for box in boxes] == [(0, 30, 2, 2), (0, 28, 4, 4), (0, 24, 8, 8)]
    assert boxes[-1].size == (15, 15)


def test_bad_nodes_and_units_are_refused_by_name():
    network = example_network("tiny_cnn")
    with pytest.raises(ValueError, match="'fc' has no spatial receptive field"):
        nested_boxes(network, "fc", 0, 0)
    with pytest.raises(ValueError, match=r"unit \(4, 0\) is outside the 4×4 output of 'p1'"):
        nested_boxes(network, "p1", 4, 0)


STACKS = {
    "dilated": [(f"d{d}", "conv2d", {"out_channels": 1, "kernel": 3, "dilation": d})
                for d in (1, 2, 4)],
    # NOTE: average pooling, not max: a max-pool sends the gradient to one pixel
    # of its window and so shows less than its field.
    "strided": [("s", "conv2d", {"out_channels": 1, "kernel": 3, "stride": 2}),
                ("p", "avgpool2d", {"kernel": 2}),
                ("w", "conv2d", {"out_channels": 1, "kernel": [3, 5], "dilation": [2, 1]})],
    "pooled": [("p", "avgpool2d", {"kernel": 3, "stride": 2}), ("r", "relu", {}),
               ("c", "conv2d", {"out_channels": 1, "kernel": 3, "padding": 2})],
}


def positive_session(layers) -> StepSession:
    """Positive weights and inputs: nothing cancels, so |∂unit/∂input| > 0 exactly
    where the unit looks (an independent check of the boxes)."""
    network = chain(layers)
    shapes = {"x": (1, 41, 41)}
    rng = np.random.default_rng(0)
    for node in network.order[1:]:
        in_shapes = [shapes[s] for s in node.inputs]
        shapes[node.id] = node.op.infer_shape(in_shapes)
        node.op.init_params(in_shapes, rng, np.float64, "glorot")
        for key in node.op.params:
            node.op.params[key] = np.abs(node.op.params[key]) + 0.1
    return StepSession(network, {"x": np.full((1, 1, 41, 41), 1.01)})


@pytest.mark.parametrize("name", list(STACKS))
@pytest.mark.parametrize("where", ["centre", "corner"])
def test_every_box_is_the_support_of_its_units_effective_field(name, where):
    session = positive_session(STACKS[name])
    last = session.network.order[-1].id
    _, _, height, width = session.output(last).shape
    i, j = ((height // 2, width // 2) if where == "centre" else (0, width - 1))
    boxes = nested_boxes(session.network, last, i, j)
    assert boxes and boxes[-1].node == last
    for box in boxes:
        field = session.effective_receptive_field(box.node, 0, 0, *box.unit)
        top, left, h, w = box.box
        inside = np.zeros(field.shape, dtype=bool)
        inside[:, top:top + h, left:left + w] = True
        assert np.all(field[~inside] == 0), f"{box.node}: a pixel outside the box is seen"
        rows, cols = np.nonzero(field[0])
        assert (rows.min(), cols.min(), np.ptp(rows) + 1, np.ptp(cols) + 1) == box.box, \
            f"{box.node}: the box is not the smallest around what the unit sees"
        if name == "dilated":  # dilations 1, 2, 4 leave no holes in the field
            assert np.all(field[inside] > 0), f"{box.node}: a pixel of the box is not seen"


def test_the_alive_unit_skips_a_dead_channel_and_a_dead_centre():
    network = chain([("c", "conv2d", {"out_channels": 2, "kernel": 3, "padding": 1}),
                     ("r", "relu", {})], (1, 9, 9))
    conv = network.nodes["c"].op
    conv.params = {"weight": np.stack([-np.ones((1, 3, 3)), np.ones((1, 3, 3))]),
                   "bias": np.zeros(2)}
    image = np.zeros((1, 1, 9, 9))
    image[0, 0, 6:, 6:] = 1.0  # only the lower right corner is lit
    session = StepSession(network, {"x": image})
    channel, i, j = session.alive_unit("r")
    assert channel == 1  # channel 0's weights are negative: its ReLU is dead everywhere
    assert session.effective_receptive_field("r", 0, channel, i, j).sum() > 0
    # Nothing nearer the centre (4, 4) sees a lit pixel through its ReLU.
    ring = max(abs(i - 4), abs(j - 4))
    for a in range(9):
        for b in range(9):
            if max(abs(a - 4), abs(b - 4)) < ring:
                assert session.effective_receptive_field("r", 0, 1, a, b).sum() == 0
    assert (i, j) == (5, 5)
