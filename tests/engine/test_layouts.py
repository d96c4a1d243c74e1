"""conv2d's im2col layouts and the ops downstream of them, against torch.

conv2d picks its column layout per input (bpviz.engine.ops.lowering): batch
first with wide rows for wide images, batch first without for strided or
narrow ones, batch innermost for small images or inputs already stored that
way. Each is checked here, with outputs that are views, inputs in either
memory order, scratch arrays reused between calls, and non-finite data.
"""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS
from bpviz.engine.ops import lowering
from bpviz.engine.ops.conv1x1 import OneByOne
from bpviz.engine.ops.lowering import Blocks, is_batch_last

torch = pytest.importorskip("torch")
F = torch.nn.functional

CASES = {  # id: (input shape N, C, H, W; conv hyperparameters; expected layout)
    "wide": ((2, 3, 9, 40), {"out_channels": 4, "kernel": 3, "padding": 1}, "wide"),
    "wide_dilated": ((2, 2, 8, 44), {"out_channels": 3, "kernel": 3, "padding": 2,
                                     "dilation": 2}, "wide"),
    "wide_few_channels": ((2, 1, 6, 36), {"out_channels": 4, "kernel": 3, "padding": 1},
                          "wide"),  # ∂J/∂U by col2im: fewer input than output channels
    "wide_row_stride": ((1, 2, 9, 36), {"out_channels": 2, "kernel": [3, 2], "stride": [2, 1],
                                        "padding": [1, 0]}, "wide"),
    "batch_first_strided": ((2, 3, 8, 40), {"out_channels": 2, "kernel": 3, "stride": 2,
                                            "padding": 1}, "narrow"),
    "batch_first_single": ((1, 2, 5, 6), {"out_channels": 3, "kernel": 2}, "narrow"),
    "one_by_one": ((2, 6, 9, 40), {"out_channels": 4, "kernel": 1}, "direct"),
    "one_by_one_dilated": ((3, 5, 4, 7), {"out_channels": 9, "kernel": 1, "dilation": 2,
                                          "bias": False}, "direct"),
    "batch_last": ((5, 3, 6, 7), {"out_channels": 4, "kernel": 3, "padding": 1,
                                  "bias": False}, "batch_last"),
    "batch_last_strided": ((3, 2, 9, 9), {"out_channels": 2, "kernel": [2, 3],
                                          "stride": [2, 3], "dilation": [2, 1]}, "batch_last"),
}


def torch_conv(x, weight, bias, hp, gy):
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(weight, requires_grad=True)
    tb = None if bias is None else torch.tensor(bias, requires_grad=True)
    ty = F.conv2d(tx, tw, tb, stride=hp.get("stride", 1), padding=hp.get("padding", 0),
                  dilation=hp.get("dilation", 1))
    leaves = [tx, tw] + ([tb] if tb is not None else [])
    grads = torch.autograd.grad(ty, leaves, torch.tensor(gy))
    return [ty.detach().numpy()] + [g.numpy() for g in grads]


def make_conv(shape, hp, dtype, seed=0):
    rng = np.random.default_rng(seed)
    op = OPS["conv2d"](**hp)
    op.init_params([shape[1:]], rng, dtype, "he")
    if "bias" in op.params:
        op.params["bias"] = rng.standard_normal(op.params["bias"].shape).astype(dtype)
    return op, rng


def run_both(op, x, gy):
    y = op.forward(x)
    (dx,) = op.backward(gy)
    ours = [y, dx, op.grads["weight"]] + ([op.grads["bias"]] if "bias" in op.grads else [])
    theirs = torch_conv(np.ascontiguousarray(x), op.params["weight"], op.params.get("bias"),
                        op.hp, np.ascontiguousarray(gy))
    return ours, theirs


def layout_of(op) -> str:
    lowering = op._lowering
    if isinstance(lowering, OneByOne):
        return "direct"
    if lowering.batch_last:
        return "batch_last"
    return "wide" if lowering.wc != lowering.out_hw[1] else "narrow"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CASES))
def test_every_layout_matches_torch(case, dtype):
    shape, hp, layout = CASES[case]
    op, rng = make_conv(shape, hp, dtype)
    x = rng.standard_normal(shape).astype(dtype)
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]]))).astype(dtype)
    ours, theirs = run_both(op, x, gy)
    assert layout_of(op) == layout
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-10, atol=1e-12)
    for name, a, b in zip(["y", "dx", "dw", "db"], ours, theirs):
        assert a.dtype == dtype and a.shape == b.shape, name
        np.testing.assert_allclose(a, b, err_msg=name, **tol)


@pytest.mark.parametrize("block_bytes,split", [(1, "rows"), (2**30, "samples")])
@pytest.mark.parametrize("case", [case for case in CASES if CASES[case][2] != "direct"])
def test_columns_made_in_blocks_give_torchs_numbers(case, block_bytes, split, monkeypatch):
    # One output row per block, or every sample in one block: the same numbers.
    monkeypatch.setattr(lowering, "BLOCK_BYTES", block_bytes)
    shape, hp, layout = CASES[case]
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]])))
    ours, theirs = run_both(op, x, gy)
    blocks = op._lowering.blocks.ranges
    if split == "rows":
        assert all(i1 - i0 == 1 and g1 - g0 == 1 for g0, g1, i0, i1 in blocks)
    else:
        assert len(blocks) == 1
    for name, a, b in zip(["y", "dx", "dw", "db"], ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("case", ["wide", "batch_last", "batch_first_strided", "one_by_one"])
def test_inputs_stored_batch_innermost_give_the_same_numbers(case):
    shape, hp, _ = CASES[case]
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]])))
    expected, _ = run_both(op, x, gy)
    x_cl = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    gy_cl = np.ascontiguousarray(gy.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)
    assert is_batch_last(x_cl)
    ours, _ = run_both(op, x_cl, gy_cl)
    assert op._lowering.batch_last
    assert not op.forward(x_cl).flags.c_contiguous  # stored as its input: batch innermost
    for a, b in zip(ours, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", ["wide", "batch_last", "batch_first_strided", "one_by_one"])
def test_results_survive_later_calls_that_reuse_working_arrays(case):
    shape, hp, _ = CASES[case]
    op, rng = make_conv(shape, hp, np.float32)
    x1, x2 = (rng.standard_normal(shape).astype(np.float32) for _ in range(2))
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]]))).astype(np.float32)
    y1 = op.forward(x1)
    (dx1,) = op.backward(gy)
    dw1 = op.grads["weight"]
    saved = [a.copy() for a in (y1, dx1, dw1)]
    op.forward(x2)
    op.backward(gy * 2)
    smaller = x1[:1]
    op.forward(smaller)  # another shape: new working arrays
    op.backward(np.ones((1, *gy.shape[1:]), np.float32))
    for kept, value in zip(saved, (y1, dx1, dw1)):
        np.testing.assert_array_equal(kept, value)
    # Back on the first shape, the same numbers as the first time.
    op.forward(x1)
    (again,) = op.backward(gy)
    np.testing.assert_array_equal(again, saved[1])


def test_wide_rows_keep_infinite_inputs_exact():
    # Junk columns read real pixels; an infinite pixel there must not turn
    # ∂J/∂W into NaN where torch has ±∞.
    shape, hp, _ = CASES["wide"]
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    x[0, 1, 4, 39] = np.inf  # read by the junk columns of its own row
    x[1, 0, 3, 0] = -np.inf  # and of the row above, through the wrap
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]])))
    ours, theirs = run_both(op, x, gy)
    assert layout_of(op) == "wide"
    for name, a, b in zip(["y", "dx", "dw", "db"], ours, theirs):
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        np.testing.assert_array_equal(np.isinf(a), np.isinf(b), err_msg=name)
        finite = np.isfinite(b)
        np.testing.assert_allclose(a[finite], b[finite], rtol=1e-10, err_msg=name)


@pytest.mark.filterwarnings("ignore:invalid value:RuntimeWarning")  # ∞·0, as in torch
def test_wide_rows_keep_infinite_weights_exact():
    # ∂J/∂U reads the zero junk columns of ∂J/∂Z: ∞·0 there must not leak NaN.
    shape, hp, _ = CASES["wide_dilated"]
    op, rng = make_conv(shape, hp, np.float64)
    op.params["weight"][1, 0, 2, 1] = -np.inf
    x = rng.standard_normal(shape)
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]])))
    ours, theirs = run_both(op, x, gy)
    assert layout_of(op) == "wide"
    dx, t_dx = ours[1], theirs[1]
    np.testing.assert_array_equal(np.isnan(dx), np.isnan(t_dx))
    np.testing.assert_array_equal(np.isinf(dx), np.isinf(t_dx))
    finite = np.isfinite(t_dx)
    assert finite.any() and not finite.all()
    np.testing.assert_allclose(dx[finite], t_dx[finite], rtol=1e-10)


@pytest.mark.parametrize("op_name,hp", [("maxpool2d", {"kernel": 2}),
                                        ("maxpool2d", {"kernel": 3, "stride": 1,
                                                       "padding": 1}),
                                        ("avgpool2d", {"kernel": 2, "stride": 1,
                                                       "padding": 1}),
                                        ("relu", {}), ("global_avgpool", {})])
@pytest.mark.parametrize("case", ["wide", "batch_last"])
def test_ops_after_a_conv_take_its_output_as_it_is_stored(op_name, hp, case):
    shape, conv_hp, _ = CASES[case]
    conv, rng = make_conv(shape, conv_hp, np.float64)
    z = conv.forward(rng.integers(-3, 4, shape).astype(np.float64))  # ties for max pooling
    op = OPS[op_name](**hp)
    y = op.forward(z)
    gy = rng.integers(-3, 4, y.shape).astype(np.float64)
    (dz,) = op.backward(gy)
    tz = torch.tensor(np.ascontiguousarray(z), requires_grad=True)
    fn = {"maxpool2d": lambda t: F.max_pool2d(t, hp["kernel"], hp.get("stride"),
                                              hp.get("padding", 0)),
          "avgpool2d": lambda t: F.avg_pool2d(t, hp["kernel"], hp.get("stride"),
                                              hp.get("padding", 0)),
          "relu": F.relu, "global_avgpool": lambda t: t.mean((2, 3))}[op_name]
    ty = fn(tz)
    (tdz,) = torch.autograd.grad(ty, [tz], torch.tensor(gy))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dz, tdz.numpy(), rtol=1e-12, atol=1e-12)


def test_relu_routes_infinite_upstream_gradients_without_nan():
    op = OPS["relu"]()
    op.forward(np.array([[-1.0, 2.0, 0.0]], np.float32))
    (dz,) = op.backward(np.array([[np.inf, -np.inf, np.inf]], np.float32))
    np.testing.assert_array_equal(dz, [[0.0, -np.inf, 0.0]])


@pytest.mark.parametrize("case", ["wide", "wide_few_channels", "batch_first_strided",
                                  "batch_last"])
def test_blocks_spread_over_threads_give_torchs_numbers_every_time(case, monkeypatch):
    # Many blocks on several threads (when the BLAS has more than one): the same
    # numbers as torch, bit for bit the same on a second pass, and the BLAS gets
    # its own thread count back.
    from bpviz.engine import parallel

    monkeypatch.setattr(lowering, "BLOCK_BYTES", 1)
    threads = parallel.thread_count()
    shape, hp, _ = CASES[case]
    shape = (4 * shape[0], *shape[1:])
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    gy = rng.standard_normal((shape[0], *op.infer_shape([shape[1:]])))
    ours, theirs = run_both(op, x, gy)
    assert parallel.worth_spreading(len(op._lowering.blocks.ranges)) == (threads > 1)
    for name, a, b in zip(["y", "dx", "dw", "db"], ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12, err_msg=name)
    again, _ = run_both(op, x, gy)
    for name, a, b in zip(["y", "dx", "dw", "db"], again, ours):
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert parallel.thread_count() == threads
    assert [lib.num_threads for lib in parallel._blas()] == [threads] * len(parallel._blas())


def test_a_1x1_conv_lets_go_of_its_input_after_release():
    shape, hp, _ = CASES["one_by_one"]
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    op.forward(x)
    assert np.shares_memory(op._lowering._x, x)  # kept for ∂L/∂W, not copied
    op.backward(np.ones((shape[0], *op.infer_shape([shape[1:]]))))
    op.release()
    assert op._lowering._x is None


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_forked_child_spreads_blocks_on_threads_of_its_own(monkeypatch):
    import os

    monkeypatch.setattr(lowering, "BLOCK_BYTES", 1)
    shape, hp, _ = CASES["wide"]
    shape = (8, *shape[1:])
    op, rng = make_conv(shape, hp, np.float64)
    x = rng.standard_normal(shape)
    expected = op.forward(x).copy()  # the parent's pool exists now (when the BLAS has threads)
    pid = os.fork()
    if pid == 0:  # the child: a pass must finish (not wait for the parent's threads)
        ok = np.array_equal(op.forward(x), expected)
        os._exit(0 if ok else 1)
    import time

    deadline = time.monotonic() + 120
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's pass never finished")
    assert os.WIFEXITED(done[1]) and os.WEXITSTATUS(done[1]) == 0


@pytest.mark.parametrize("groups, rows, row_columns, wanted", [
    (1, 7, 3, 5), (4, 56, 58, 4096), (100, 3, 3, 500), (3, 2, 2, 1), (5, 10, 10, 100)])
def test_the_first_block_is_the_first_of_all_blocks_and_they_cover_every_row_once(
        groups, rows, row_columns, wanted):
    blocks = Blocks(groups, rows, row_columns, wanted)
    assert blocks.first == blocks.ranges[0]
    covered = [(g, i) for g0, g1, i0, i1 in blocks for g in range(g0, g1) for i in range(i0, i1)]
    assert sorted(covered) == [(g, i) for g in range(groups) for i in range(rows)]
