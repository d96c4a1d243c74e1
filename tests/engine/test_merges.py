"""add and concat: shape errors, independent gradients, the split by channel, and a residual
network through the executor against torch."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Executor, Network, NodeSpec, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional


def test_add_shape_error_names_the_shapes():
    op = OPS["add"]()
    with pytest.raises(ShapeError, match="add needs inputs of one shape, got 16×8×8 and 8×8×8"):
        op.infer_shape([(16, 8, 8), (16, 8, 8), (8, 8, 8)])
    with pytest.raises(ShapeError, match="16×8×8 and 8×8×8"):
        op.forward(np.zeros((2, 16, 8, 8)), np.zeros((2, 8, 8, 8)))
    assert op.min_inputs == 2 and op.max_inputs is None


def test_add_gradients_cannot_be_changed_through_one_another():
    op = OPS["add"]()
    a, b, c = np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 3))
    np.testing.assert_array_equal(op.forward(a, b, c), np.full((2, 3), 3.0))
    gy = np.arange(6.0).reshape(2, 3)
    grads = op.backward(gy)
    assert len(grads) == 3
    for grad in grads:
        np.testing.assert_array_equal(grad, np.arange(6.0).reshape(2, 3))
        with pytest.raises(ValueError, match="read-only"):
            grad += 1.0  # a consumer writing into one input's gradient must fail loudly
    assert gy.flags.writeable and a.sum() == 6.0


def test_concat_shapes_and_errors():
    op = OPS["concat"]()
    assert op.infer_shape([(2, 5, 5), (3, 5, 5), (1, 5, 5)]) == (6, 5, 5)
    assert op.infer_shape([(4,), (7,)]) == (11,)
    with pytest.raises(ShapeError, match="spatial size.*2×5×5 and 3×4×5"):
        op.infer_shape([(2, 5, 5), (3, 4, 5)])
    with pytest.raises(ShapeError):
        op.infer_shape([(2, 5, 5), (10,)])
    with pytest.raises(ShapeError):
        op.forward(np.zeros((1, 2, 3, 3)), np.zeros((1, 2, 3, 4)))


def test_concat_backward_splits_by_channel():
    op = OPS["concat"]()
    xs = [np.zeros((2, c, 2, 2)) for c in (1, 3, 2)]
    y = op.forward(*xs)
    gy = np.arange(y.size, dtype=float).reshape(y.shape)
    g1, g2, g3 = op.backward(gy)
    np.testing.assert_array_equal(g1, gy[:, :1])
    np.testing.assert_array_equal(g2, gy[:, 1:4])
    np.testing.assert_array_equal(g3, gy[:, 4:])


def test_residual_network_with_loss_runs_through_executor():
    rng = np.random.default_rng(0)
    nodes = [NodeSpec("x", OPS["input"](shape=[3]), []),
             NodeSpec("d1", OPS["dense"](units=3), ["x"]),
             NodeSpec("bn", OPS["batchnorm"](), ["d1"]),
             NodeSpec("act", OPS["tanh"](), ["bn"]),
             NodeSpec("res", OPS["add"](), ["act", "x"]),
             NodeSpec("cat", OPS["concat"](), ["res", "x"]),
             NodeSpec("out", OPS["dense"](units=4), ["cat"]),
             NodeSpec("loss", OPS["softmax_cross_entropy"](), ["out"])]
    for node in nodes:
        node.op.init_params([(3,)] if node.id != "out" else [(6,)], rng, np.float64, "glorot")
    executor = Executor(Network(nodes))
    x = rng.standard_normal((5, 3))
    labels = np.array([0, 1, 2, 3, 0])
    loss = executor.run({"x": x}, {"loss": labels})

    t_x = torch.tensor(x, requires_grad=True)
    p = {f"{n.id}/{k}": torch.tensor(v, requires_grad=True)
         for n in nodes for k, v in n.op.params.items()}
    bn = nodes[2].op
    d1 = F.linear(t_x, p["d1/weight"], p["d1/bias"])
    # bn's running stats were updated by our forward; training output ignores them.
    h = F.batch_norm(d1, torch.tensor(bn.buffers["running_mean"]),
                     torch.tensor(bn.buffers["running_var"]), p["bn/weight"], p["bn/bias"],
                     training=True)
    res = torch.tanh(h) + t_x
    out = F.linear(torch.cat([res, t_x], dim=1), p["out/weight"], p["out/bias"])
    t_loss = F.cross_entropy(out, torch.tensor(labels))
    grads = torch.autograd.grad(t_loss, [t_x, *p.values()])
    np.testing.assert_allclose(loss, t_loss.item(), rtol=1e-12)
    np.testing.assert_allclose(executor.grads["x"], grads[0].numpy(), rtol=1e-9, atol=1e-12)
    for (key, _), theirs in zip(p.items(), grads[1:]):
        node_id, name = key.split("/")
        ours = executor.network.nodes[node_id].op.grads[name]
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-12, err_msg=key)
