"""conv2d and pooling against torch over generated shapes and hyperparameters,
plus the max-pooling tie rule and the shape messages, checked explicitly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bpviz.engine import OPS, ShapeError

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12


def pairs(low: int, high: int):
    """An int or an [h, w] list, as a graph file would write it."""
    value = st.integers(low, high)
    return st.one_of(value, st.lists(value, min_size=2, max_size=2))


def batch_shapes():
    return st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 9), st.integers(1, 9))


@st.composite
def conv_cases(draw):
    hp = {"out_channels": draw(st.integers(1, 3)), "kernel": draw(pairs(1, 4)),
          "stride": draw(pairs(1, 3)), "padding": draw(pairs(0, 2)),
          "dilation": draw(pairs(1, 3)), "bias": draw(st.booleans())}
    return draw(batch_shapes()), hp


@st.composite
def pool_cases(draw):
    hp = {"kernel": draw(pairs(1, 4)), "padding": draw(pairs(0, 2))}
    if draw(st.booleans()):
        hp["stride"] = draw(pairs(1, 3))
    return draw(st.sampled_from(["maxpool2d", "avgpool2d"])), draw(batch_shapes()), hp


def rejects(op, sample_shape) -> bool:
    try:
        op.infer_shape([sample_shape])
    except ShapeError:
        return True
    return False


def torch_pool(name: str, x, hp):
    fn = F.max_pool2d if name == "maxpool2d" else F.avg_pool2d
    return fn(x, hp["kernel"], hp.get("stride"), hp["padding"])


def assert_close(ours, theirs, what: str) -> None:
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


@settings(max_examples=60, deadline=None)
@given(conv_cases(), st.integers(0, 2**32 - 1))
def test_conv2d_matches_torch(case, seed):
    shape, hp = case
    op = OPS["conv2d"](**hp)
    weight_shape = op.param_shapes([shape[1:]])["weight"]
    if rejects(op, shape[1:]):
        with pytest.raises(RuntimeError):
            F.conv2d(torch.zeros(shape), torch.zeros(weight_shape), stride=hp["stride"],
                     padding=hp["padding"], dilation=hp["dilation"])
    assume(not rejects(op, shape[1:]))

    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    op.init_params([shape[1:]], rng, np.float64, "glorot")
    for name, value in op.params.items():  # a random bias too, not zeros
        op.params[name] = rng.standard_normal(value.shape)
    y = op.forward(x)
    gy = rng.standard_normal(y.shape)
    (dx,) = op.backward(gy)

    t_x = torch.tensor(x, requires_grad=True)
    t_params = {k: torch.tensor(v, requires_grad=True) for k, v in op.params.items()}
    t_y = F.conv2d(t_x, t_params["weight"], t_params.get("bias"), stride=hp["stride"],
                   padding=hp["padding"], dilation=hp["dilation"])
    t_grads = torch.autograd.grad(t_y, [t_x, *t_params.values()], torch.tensor(gy))

    assert y.shape == (shape[0], *op.infer_shape([shape[1:]]))
    assert_close(y, t_y, "forward")
    assert_close(dx, t_grads[0], "∂J/∂U")
    for name, theirs in zip(t_params, t_grads[1:]):
        assert_close(op.grads[name], theirs, f"∂J/∂{name}")


@settings(max_examples=60, deadline=None)
@given(pool_cases(), st.booleans(), st.integers(0, 2**32 - 1))
def test_pooling_matches_torch(case, ties, seed):
    name, shape, hp = case
    op = OPS[name](**hp)
    if rejects(op, shape[1:]):
        with pytest.raises(RuntimeError):
            torch_pool(name, torch.zeros(shape), hp)
    assume(not rejects(op, shape[1:]))

    rng = np.random.default_rng(seed)
    # Small integers make ties inside windows common: max pooling must then
    # route each window's gradient to the same pixel as torch.
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    y = op.forward(x)
    gy = rng.standard_normal(y.shape)
    (dx,) = op.backward(gy)

    t_x = torch.tensor(x, requires_grad=True)
    t_y = torch_pool(name, t_x, hp)
    (t_dx,) = torch.autograd.grad(t_y, [t_x], torch.tensor(gy))
    assert_close(y, t_y, "forward")
    assert_close(dx, t_dx, "∂J/∂U")


# -- max pooling: ties, NaN and infinities, exactly as torch --------------------
def max_pool_both(x: np.ndarray, gy: np.ndarray | None = None, **hp):
    """(ours, torch's) output and input gradient for one max-pool call."""
    op = OPS["maxpool2d"](**hp)
    y = op.forward(x)
    gy = np.ones_like(y) if gy is None else gy
    (dx,) = op.backward(gy)
    t_x = torch.tensor(x, requires_grad=True)
    t_y = F.max_pool2d(t_x, hp["kernel"], hp.get("stride"), hp.get("padding", 0))
    (t_dx,) = torch.autograd.grad(t_y, [t_x], torch.tensor(gy))
    return (y, dx), (t_y.detach().numpy(), t_dx.numpy())


def test_max_pool_tie_on_constant_input_goes_to_first_pixel_of_each_window():
    (y, dx), (t_y, t_dx) = max_pool_both(np.ones((1, 1, 3, 3)), kernel=2, stride=1)
    # Four overlapping windows, each won by its top-left pixel.
    expected = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(dx[0, 0], expected)
    np.testing.assert_array_equal(dx, t_dx)
    np.testing.assert_array_equal(y, t_y)


@pytest.mark.parametrize("hp", [{"kernel": 3, "stride": 1, "padding": 1},
                                {"kernel": 2},
                                {"kernel": [3, 2], "stride": [1, 2], "padding": [1, 0]},
                                {"kernel": 2, "stride": 3}],
                         ids=["overlap_pad", "tiled", "pairs", "gaps"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_pool_integer_ties_route_like_torch(hp, dtype):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 2, (2, 3, 7, 6)).astype(dtype)
    op = OPS["maxpool2d"](**hp)
    gy = rng.integers(-3, 4, (2, *op.infer_shape([x.shape[1:]]))).astype(dtype)
    (y, dx), (t_y, t_dx) = max_pool_both(x, gy, **hp)
    # Integer upstream gradients sum exactly: the routing must be identical.
    np.testing.assert_array_equal(y, t_y)
    np.testing.assert_array_equal(dx, t_dx)
    assert y.dtype == dx.dtype == dtype


def test_max_pool_nan_wins_like_torch():
    x = np.zeros((1, 1, 3, 4))
    x[0, 0, 0, 1] = x[0, 0, 2, 2] = np.nan
    (y, dx), (t_y, t_dx) = max_pool_both(x, kernel=3, stride=1)
    np.testing.assert_array_equal(y, t_y)  # NaN where torch has NaN
    np.testing.assert_array_equal(dx, t_dx)


def test_max_pool_window_of_minus_infinity_credits_its_first_real_pixel():
    (y, dx), (t_y, t_dx) = max_pool_both(np.full((1, 1, 3, 3), -np.inf),
                                         kernel=2, stride=1, padding=1)
    np.testing.assert_array_equal(y, t_y)
    np.testing.assert_array_equal(dx, t_dx)


def test_max_pool_infinite_upstream_reaches_only_the_winner():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    gy = np.array([[[[np.inf, 1.0], [-np.inf, 2.0]]]])
    (_, dx), (_, t_dx) = max_pool_both(x, gy, kernel=2)
    np.testing.assert_array_equal(dx, t_dx)
    assert np.count_nonzero(np.isnan(dx)) == 0


# -- shapes, messages, geometry -----------------------------------------------
@pytest.mark.parametrize("op_name, hp, shape, message", [
    ("conv2d", {"out_channels": 4, "kernel": 3}, (10,), "conv2d needs a [C, H, W] input, got 10"),
    ("conv2d", {"out_channels": 4, "kernel": 5, "dilation": 2}, (1, 8, 8),
     "kernel 5 with dilation 2 spans 9 pixels but its input is 8×8"),
    ("conv2d", {"out_channels": 4, "kernel": 6, "dilation": 2, "padding": 1}, (1, 8, 8),
     "kernel 6 with dilation 2 spans 11 pixels but its padded input is 10×10"),
    ("conv2d", {"out_channels": 1, "kernel": [3, 2]}, (2, 2, 8),
     "kernel 3×2 is larger than its input 2×8"),
    ("maxpool2d", {"kernel": 3, "padding": 2}, (1, 8, 8),
     "maxpool2d padding 2 is more than half its kernel 3"),
    ("avgpool2d", {"kernel": 4}, (1, 3, 3), "kernel 4 is larger than its input 3×3"),
    ("global_avgpool", {}, (4, 5), "global_avgpool needs a [C, H, W] input, got 4×5"),
])
def test_shape_errors_name_the_rule(op_name, hp, shape, message):
    with pytest.raises(ShapeError) as caught:
        OPS[op_name](**hp).infer_shape([shape])
    assert str(caught.value).startswith(message)


def test_output_shapes_and_geometry():
    conv = OPS["conv2d"](out_channels=4, kernel=[3, 2], stride=[2, 1], padding=[1, 0],
                         dilation=[1, 3])
    assert conv.infer_shape([(3, 7, 5)]) == (4, 4, 2)
    assert conv.geometry() == ((3, 4), (2, 1), (1, 0))
    pool = OPS["maxpool2d"](kernel=3)
    assert pool.infer_shape([(2, 7, 9)]) == (2, 2, 3)
    assert pool.geometry() == ((3, 3), (3, 3), (0, 0))  # stride defaults to the kernel
    assert OPS["avgpool2d"](kernel=[2, 3], stride=1, padding=1).geometry() == (
        (2, 3), (1, 1), (1, 1))
    assert OPS["global_avgpool"]().infer_shape([(5, 3, 3)]) == (5,)
    assert OPS["global_avgpool"]().geometry() is None


def test_conv_init_and_frozen_weights():
    conv = OPS["conv2d"](out_channels=4, kernel=3)
    conv.init_params([(2, 5, 5)], np.random.default_rng(0), np.float32, "he")
    assert conv.params["weight"].shape == (4, 2, 3, 3)
    assert conv.params["weight"].dtype == np.float32
    np.testing.assert_array_equal(conv.params["bias"], np.zeros(4, np.float32))
    assert conv.params["weight"].std() == pytest.approx(np.sqrt(2 / 18), rel=0.5)
    conv.trainable = False
    x = np.random.default_rng(1).standard_normal((2, 2, 5, 5)).astype(np.float32)
    y = conv.forward(x)
    (dx,) = conv.backward(np.ones_like(y))
    assert conv.grads == {}
    assert y.dtype == dx.dtype == np.float32


def test_conv_rejects_a_batch_with_the_wrong_channel_count():
    conv = OPS["conv2d"](out_channels=2, kernel=1)
    conv.init_params([(3, 4, 4)], np.random.default_rng(0), np.float64, "glorot")
    with pytest.raises(ShapeError, match="expects 3 input channels, got 2"):
        conv.forward(np.zeros((1, 2, 4, 4)))
