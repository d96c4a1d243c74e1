"""describe_step's text and full_jacobian's numbers."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from bpviz.engine.formulas import describe_step, full_jacobian, is_tiny
from bpviz.engine.stepping import StepSession
from bpviz.oracle.torch_graph import torch_fn
from tests.engine.stepping_graphs import (
    every_loss_session,
    example_json,
    example_session,
    residual_network,
    tiny_mixed_network,
)


def step_of(session: StepSession, node: str, phase: str):
    return next(s for s in session.steps if s.node == node and s.phase == phase)


@pytest.fixture(scope="module")
def cnn() -> StepSession:
    return example_session("tiny_cnn")


def expected_conv_shapes() -> tuple[str, str, str]:
    """W, U and ∂L/∂Z of 'c1' in the lecture's order, worked out from the graph file."""
    nodes = {n["id"]: n for n in example_json("tiny_cnn")["nodes"]}
    c, h, w = nodes["x"]["params"]["shape"]
    conv = nodes["c1"]["params"]
    k, p, m = conv["kernel"], conv["padding"], conv["out_channels"]
    oh, ow = h + 2 * p - k + 1, w + 2 * p - k + 1  # stride 1, dilation 1
    return f"{k}×{k}×{c}×{m}", f"{h}×{w}×{c}", f"{oh}×{ow}×{m}"


def test_conv_backward_names_the_op_and_the_lecture_shapes(cnn):
    w, u, dz = expected_conv_shapes()
    assert (w, u, dz) == ("3×3×1×8", "8×8×1", "8×8×8")
    text = describe_step(step_of(cnn, "c1", "backward"), cnn.network)
    assert text.title == "conv2d 'c1' · backward"
    assert ("∂L/∂W[k1,k2,n,m] = Σ_{i1,i2} U[i1+k1, i2+k2, n] · ∂L/∂Z[i1,i2,m],  "
            "summed over the batch of N = 4") in text.lines
    assert f"W: {w} · U: {u} · ∂L/∂Z: {dz}" in text.lines
    assert any(line.startswith("the lecture's conv slides write J for this same loss L")
               for line in text.lines)
    assert any("lecture's order" in line and "[m,n,k1,k2]" in line for line in text.lines)
    assert f"∂Z/∂U: {dz} × {u} = 32,768" in text.jacobian
    assert "the backward pass never builds it" in text.jacobian and "per sample" in text.jacobian


def test_forward_steps_show_the_forward_formula_with_shapes(cnn):
    text = describe_step(step_of(cnn, "c1", "forward"), cnn.network)
    assert text.title == "conv2d 'c1' · forward"
    assert text.lines[0].startswith("Z[i1,i2,m] = Σ_{k1,k2,n} W[k1,k2,n,m] U[i1+k1, i2+k2, n]")
    assert any(line.startswith("U: 8×8×1 → Z: 8×8×8 · W: 3×3×1×8 · b: 8") for line in text.lines)
    flatten = describe_step(step_of(cnn, "f", "forward"), cnn.network)
    assert "∂" not in flatten.lines[0]


def test_loss_dense_and_relu_lines(cnn):
    loss = describe_step(step_of(cnn, "loss", "backward"), cnn.network)
    assert loss.lines[0] == "start of backward: ∂L/∂L = 1"
    assert "∂L/∂z_i = 1/N · (ŷ_i − y_i)  (y_i one-hot)" in loss.lines
    assert any("(mean: 1/N = 1/4)" in line for line in loss.lines)
    dense = describe_step(step_of(cnn, "fc", "backward"), cnn.network)
    assert any(line.startswith("∂L/∂W = (∂L/∂z) uᵀ : (10×1)(1×128) = 10×128")
               for line in dense.lines)
    assert "upstream ∂L/∂z: 10, from 'loss'" in dense.lines
    assert "∂z/∂u: 10 × 128 = 1,280" in dense.jacobian
    relu = describe_step(step_of(cnn, "r1", "backward"), cnn.network)
    assert "∂L/∂z = ∂L/∂u ⊙ 1[z > 0]" in relu.lines
    assert "262,144" in relu.jacobian and "diagonal" in relu.jacobian


def test_one_pass_writes_the_loss_as_L_only(cnn):
    for step in cnn.steps:
        text = describe_step(step, cnn.network)
        formula = [line for line in text.lines if not line.startswith("the lecture's conv")]
        assert not any("∂J" in line for line in (*formula, *text.caption, text.jacobian))
        if step.phase == "backward":
            assert "∂L/∂" in " ".join(text.caption)


def test_captions_keep_the_formula_and_leave_the_upstream_line_aside(cnn):
    conv = describe_step(step_of(cnn, "c1", "backward"), cnn.network)
    assert conv.caption[0].startswith("∂L/∂W[k1,k2,n,m] = Σ_{i1,i2} U[i1+k1, i2+k2, n]")
    assert conv.caption[-1] == "∂L/∂Z: 8×8×8 → ∂L/∂U: 8×8×1 · ∂L/∂W: 3×3×1×8 · ∂L/∂b: 8"
    assert conv.context == "upstream ∂L/∂Z: 8×8×8, from 'r1'  ·  J in the lecture's conv slides = L"
    assert not any(line.startswith("upstream") for line in conv.caption)
    forward = describe_step(step_of(cnn, "c1", "forward"), cnn.network)
    assert forward.caption == tuple(forward.lines[:2]) and forward.context == ""


def test_add_and_a_fork():
    session = StepSession(residual_network(), {"x": np.ones((2, 4))})
    add = describe_step(step_of(session, "sum", "backward"), session.network)
    assert add.lines[1].startswith("∂L/∂x_i = ∂L/∂y (each input)")
    assert "'r', 'd1'" in add.lines[1]
    assert "∂y/∂x_1: 4 × 4 = 16; ∂y/∂x_2: 4 × 4 = 16" in add.jacobian
    fork = describe_step(step_of(session, "d1", "backward"), session.network)
    assert fork.lines[0].startswith("∂L/∂z = Σ over consumers: from 'r' + from 'sum'")


def test_a_frozen_node_keeps_no_parameter_gradient():
    session = example_session("tiny_cnn")
    session.network.nodes["c1"].op.trainable = False
    frozen = StepSession(session.network, session.feeds, session.targets)
    text = describe_step(step_of(frozen, "c1", "backward"), frozen.network)
    assert text.title.endswith("· frozen")
    assert any("no parameter gradient is kept" in line and "transfer learning" in line
               for line in text.lines)
    assert not any(line.startswith("∂L/∂W[") for line in text.lines)
    assert "∂Z/∂W" not in text.jacobian


# -- full Jacobians ----------------------------------------------------------------
def tiny_sessions() -> list[StepSession]:
    two_layer = example_session("two_layer_classifier")
    mixed = tiny_mixed_network()
    rng = np.random.default_rng(1)
    feeds = {"x": rng.standard_normal((3, 3))}
    mixed_session = StepSession(mixed, feeds, {"loss": rng.random((3, 4))})
    return [two_layer, mixed_session, every_loss_session()]


def tiny_steps():
    return [(session, step) for session in tiny_sessions() for step in session.steps
            if step.phase == "backward" and session.network.nodes[step.node].inputs
            and is_tiny(step, session.network)]


def finite_differences(step, network, sample: int, h: float = 1e-6) -> list[np.ndarray]:
    op = copy.deepcopy(network.nodes[step.node].op)
    op.reuse_mask = True  # dropout keeps this pass's mask
    extra = (step.target,) if op.is_loss else ()

    def out(*xs):
        y = op.forward(*xs, *extra)
        return np.atleast_1d(y if y.ndim == 0 else y[sample]).ravel()

    blocks = []
    for k, x in enumerate(step.inputs):
        columns = []
        for j in range(x[sample].size):
            plus, minus = [a.copy() for a in step.inputs], [a.copy() for a in step.inputs]
            plus[k][sample].flat[j] += h
            minus[k][sample].flat[j] -= h
            columns.append((out(*plus) - out(*minus)) / (2 * h))
        blocks.append(np.stack(columns, axis=1))
    return blocks


def torch_jacobians(step, network, sample: int) -> list[np.ndarray]:
    op = network.nodes[step.node].op
    fn = torch_fn(step.op)
    params = {k: torch.tensor(v) for k, v in op.params.items()}
    extra = [torch.tensor(step.target)] if op.is_loss else []
    xs = tuple(torch.tensor(x) for x in step.inputs)

    def buffers():  # batchnorm updates its running statistics in place: fresh copies
        return {k: torch.tensor(v.copy()) for k, v in op.buffers.items()}

    def of_inputs(*inputs):
        return fn([*inputs, *extra], params, buffers(), op.hp, op)

    def of_params(*values):
        return fn([*xs, *extra], dict(zip(params, values)), buffers(), op.hp, op)

    found = torch.autograd.functional.jacobian(of_inputs, xs)
    if params:
        found += torch.autograd.functional.jacobian(of_params, tuple(params.values()))
    out_size = 1 if step.output.ndim == 0 else step.output[sample].size
    blocks = []
    for k, jac in enumerate(found):
        jac = jac if step.output.ndim == 0 else jac[sample]
        if k < len(xs):  # keep only this sample's inputs
            jac = jac.reshape(out_size, *step.inputs[k].shape)[:, sample]
        blocks.append(jac.reshape(out_size, -1).numpy())
    return blocks


@pytest.mark.parametrize("sample", [0, 2])
def test_full_jacobian_matches_finite_differences_and_torch(sample):
    checked = set()
    for session, step in tiny_steps():
        blocks = full_jacobian(step, session.network, sample)
        ours = [b.matrix for b in blocks]
        for mine, fd in zip(ours, finite_differences(step, session.network, sample)):
            np.testing.assert_allclose(mine, fd, atol=1e-6)
        reference = torch_jacobians(step, session.network, sample)
        assert len(reference) == len(ours)
        for mine, theirs in zip(ours, reference):
            np.testing.assert_allclose(mine, theirs, atol=1e-12)
        checked.add(step.op)
    assert checked >= {"dense", "sigmoid", "bce", "relu", "tanh", "add", "softmax", "mse",
                       "dropout", "batchnorm", "bce_with_logits", "softmax_cross_entropy"}


def test_full_jacobian_of_a_dense_layer_is_its_weight():
    session = example_session("two_layer_classifier")
    step = step_of(session, "hidden", "forward")
    (du, dw, db) = full_jacobian(step, session.network, sample=1)
    assert du.name == "∂z/∂u" and du.matrix.shape == (4, 2)
    np.testing.assert_array_equal(du.matrix, session.network.nodes["hidden"].op.params["weight"])
    np.testing.assert_array_equal(db.matrix, np.eye(4))
    assert dw.matrix.shape == (4, 8)


def test_full_jacobian_refuses_large_nodes_and_leaves_the_op_alone(cnn):
    with pytest.raises(ValueError, match="too large"):
        full_jacobian(step_of(cnn, "c1", "backward"), cnn.network)
    session = example_session("two_layer_classifier")
    op = session.network.nodes["out"].op
    grads, weight = op.grads, op.params["weight"].copy()
    full_jacobian(step_of(session, "out", "backward"), session.network)
    assert op.grads is grads
    np.testing.assert_array_equal(op.params["weight"], weight)
