"""Receptive fields: the formula against published figures and against gradients."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Executor, Network, NodeSpec
from bpviz.engine.receptive import ReceptiveField, grow, receptive_fields


def chain(layers: list[tuple[str, dict]], in_shape=(1, 33, 33)) -> list[NodeSpec]:
    nodes = [NodeSpec("x", OPS["input"](shape=list(in_shape)))]
    for i, (op, hp) in enumerate(layers):
        nodes.append(NodeSpec(f"n{i}", OPS[op](**hp), [nodes[-1].id]))
    return nodes


def test_dilated_stack_grows_3_7_15():
    # Yu & Koltun (2016), figure 1: dilations 1, 2, 4 give 3x3, 7x7, 15x15.
    nodes = chain([("conv2d", {"out_channels": 1, "kernel": 3, "dilation": d, "padding": d})
                   for d in (1, 2, 4)])
    fields = receptive_fields(nodes)
    assert [fields[f"n{i}"].size for i in range(3)] == [(3, 3), (7, 7), (15, 15)]


def test_grow_formula_on_a_strided_pool():
    field = grow(ReceptiveField((3, 3), (1, 1), (1, 1)), (2, 2), (2, 2), (0, 0))
    assert field == ReceptiveField((4, 4), (2, 2), (1, 1))


def test_flatten_and_dense_have_no_field():
    nodes = chain([("conv2d", {"out_channels": 2, "kernel": 3}), ("flatten", {}),
                   ("dense", {"units": 3})])
    fields = receptive_fields(nodes)
    assert fields["n0"] is not None and fields["n1"] is None and fields["n2"] is None


def test_branches_take_the_largest_field():
    x = NodeSpec("x", OPS["input"](shape=[1, 16, 16]))
    small = NodeSpec("small", OPS["conv2d"](out_channels=1, kernel=1), ["x"])
    big = NodeSpec("big", OPS["conv2d"](out_channels=1, kernel=5, padding=2), ["x"])
    merged = NodeSpec("sum", OPS["add"](), ["small", "big"])
    assert receptive_fields([x, small, big, merged])["sum"].size == (5, 5)


LAYER_STACKS = {
    "dilated": [("conv2d", {"out_channels": 1, "kernel": 3, "dilation": d}) for d in (1, 2, 4)],
    "strided": [("conv2d", {"out_channels": 1, "kernel": 3, "stride": 2}),
                # NOTE: not max-pooling, which routes the gradient to one
                # pixel per window and so shows less than the field.
                ("avgpool2d", {"kernel": 2}),
                ("conv2d", {"out_channels": 1, "kernel": [3, 5], "dilation": [2, 1]})],
    "pooled": [("avgpool2d", {"kernel": 3, "stride": 2}), ("relu", {}),
               ("conv2d", {"out_channels": 1, "kernel": 3})],
}


@pytest.mark.parametrize("name", list(LAYER_STACKS))
def test_field_equals_the_support_of_the_gradient(name):
    """The theoretical field is where ∂(one output unit)/∂input is non-zero.

    With positive weights and inputs nothing cancels, so the engine's own
    gradient marks exactly the pixels the unit sees: an independent check of
    the formula (and of the ops' backward).
    """
    nodes = chain(LAYER_STACKS[name], in_shape=(1, 41, 41))
    network = Network(nodes)
    shapes = {"x": (1, 41, 41)}
    for node in network.order[1:]:
        in_shapes = [shapes[s] for s in node.inputs]
        shapes[node.id] = node.op.infer_shape(in_shapes)
        node.op.init_params(in_shapes, np.random.default_rng(0), np.float64, "glorot")
        for key in node.op.params:
            node.op.params[key] = np.abs(node.op.params[key]) + 0.1
    executor = Executor(network)
    executor.run({"x": np.full((1, 1, 41, 41), 1.01)}, backward=False)
    last = network.order[-1].id
    unit = np.zeros_like(executor.values[last])
    unit[0, 0, unit.shape[2] // 2, unit.shape[3] // 2] = 1.0
    for _ in executor.backward(seeds={last: unit}):
        pass
    rows, cols = np.nonzero(executor.grads["x"][0, 0])
    size = (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1)
    assert receptive_fields(nodes)[last].size == size
