"""The layer ops' explanations (dense, conv2d, flatten, pooling, add, concat) on the
bundled examples: the terms add up to the entry, every factor is the pass's entry,
the entry is torch's; padding, ties and frozen nodes; and mistakes that are caught."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.explain import ExplainError, explain_entry
from bpviz.engine.stepping import StepSession
from bpviz.graph import build_network, load_graph
from bpviz.graph.batch import random_batch
from tests.engine.explain_checks import (
    check_entry,
    pass_tensors,
    random_entries,
    torch_reference,
)
from tests.engine.stepping_graphs import EXAMPLES

pytest.importorskip("torch")

LAYER_OPS = {"dense", "conv2d", "flatten", "maxpool2d", "avgpool2d", "global_avgpool",
             "add", "concat"}
EXAMPLE_NAMES = ["tiny_cnn", "digits_cnn", "dilated_convolutions", "resnet_blocks",
                 "densenet_block", "deep_residual_20", "two_layer_classifier"]


def example_session(name: str, batch: int, seed: int) -> StepSession:
    """A pass of an example on a random batch with labels that fit its classes."""
    network = build_network(load_graph(EXAMPLES / f"{name}.json"), seed=seed)
    feeds, targets = random_batch(network, batch, seed, np.dtype(np.float64))
    return StepSession(network, feeds, targets)


def check_all(session: StepSession, per_tensor: int, seed: int = 0) -> dict[str, int]:
    """check_entry on random entries of every tensor of every layer-op node; the
    number of entries checked per tensor kind."""
    tensors, theirs = pass_tensors(session), torch_reference(session)
    kinds: dict[str, int] = {}
    for node, tensor, at in random_entries(session, np.random.default_rng(seed), per_tensor,
                                           LAYER_OPS):
        check_entry(session, tensors, theirs, node, tensor, at)
        kind = tensor.split("/")[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_tensor_of_the_layer_ops_of_an_example(name):
    kinds = check_all(example_session(name, batch=3, seed=1), per_tensor=2)
    assert {"out", "grad_in", "grad_out"} <= set(kinds)


def test_transfer_example_frozen_convs_explain_all_but_a_weight_gradient():
    network = build_network(load_graph(EXAMPLES / "transfer_digits.json"), seed=0)
    rng = np.random.default_rng(4)
    session = StepSession(network, {"x": rng.standard_normal((2, 1, 8, 8))},
                          {"loss": rng.integers(0, 5, 2)})
    kinds = check_all(session, per_tensor=3)
    assert kinds["grad"] == 2 * 3  # fc's weight and bias only
    with pytest.raises(ExplainError, match="frozen"):
        explain_entry(session, "conv1", "grad/weight", (0, 0, 0, 0))


# -- small graphs whose terms are counted by hand ---------------------------------------
def single_op_session(op_name: str, hp: dict, x: np.ndarray, seed: int = 0) -> StepSession:
    """x → op → mse against random targets; any conv/dense weights random."""
    rng = np.random.default_rng(seed)
    op = OPS[op_name](**hp)
    op.init_params([x.shape[1:]], rng, np.float64, "glorot")
    for name, value in op.params.items():
        op.params[name] = rng.standard_normal(value.shape)
    out_shape = op.infer_shape([x.shape[1:]])
    network = Network([NodeSpec("x", OPS["input"](shape=list(x.shape[1:]))),
                       NodeSpec("op", op, ["x"]), NodeSpec("loss", OPS["mse"](), ["op"])])
    return StepSession(network, {"x": x}, {"loss": rng.standard_normal((len(x), *out_shape))})


def test_conv_corner_output_drops_the_padding_taps():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 5))
    session = single_op_session("conv2d", {"out_channels": 2, "kernel": 3, "padding": 1}, x)
    corner = check_entry(session, pass_tensors(session), torch_reference(session),
                         "op", "out", (1, 0, 0, 0))
    # The 3×3 window at (0, 0) reaches one row and one column of padding: 5 of 9 taps.
    assert len(corner.terms) == 4 * 3 + 1
    assert "5 of 9 taps" in corner.note
    reads = {f.at for t in corner.terms for f in t.factors if f.key == "x/out"}
    assert reads == {(1, n, r, c) for n in range(3) for r in (0, 1) for c in (0, 1)}
    middle = explain_entry(session, "op", "out", (1, 0, 2, 2))
    assert len(middle.terms) == 9 * 3 + 1 and "padding" not in middle.note


def test_strided_dilated_conv_input_gradient_counts_only_the_windows_that_read_it():
    x = np.random.default_rng(1).standard_normal((1, 1, 7, 7))
    hp = {"out_channels": 1, "kernel": 2, "stride": 2, "dilation": 2, "bias": False}
    session = single_op_session("conv2d", hp, x)
    tensors, theirs = pass_tensors(session), torch_reference(session)
    # Windows start at 0, 2, 4 and read pixels s·i + d·k = 2i + 2k: the odd rows never.
    odd = check_entry(session, tensors, theirs, "op", "grad_in/0", (0, 0, 1, 2))
    assert odd.terms == () and odd.value == 0
    # Pixel (2, 2): k1 = 0 with i1 = 1, or k1 = 1 with i1 = 0; the same for columns.
    even = check_entry(session, tensors, theirs, "op", "grad_in/0", (0, 0, 2, 2))
    windows = {f.at for t in even.terms for f in t.factors if f.key == "op/grad_out"}
    assert windows == {(0, 0, i1, i2) for i1 in (0, 1) for i2 in (0, 1)}


def test_max_pool_ties_go_to_the_first_maximum_as_in_torch():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, :2, :2] = 2.0  # four equal maxima in the first window
    session = single_op_session("maxpool2d", {"kernel": 2}, x)
    tensors, theirs = pass_tensors(session), torch_reference(session)
    out = check_entry(session, tensors, theirs, "op", "out", (0, 0, 0, 0))
    assert [f.at for t in out.terms for f in t.factors] == [(0, 0, 0, 0)]
    first = check_entry(session, tensors, theirs, "op", "grad_in/0", (0, 0, 0, 0))
    assert [f.at for t in first.terms for f in t.factors] == [(0, 0, 0, 0)]
    for pixel in ((0, 0, 0, 1), (0, 0, 1, 0), (0, 0, 1, 1)):
        loser = check_entry(session, tensors, theirs, "op", "grad_in/0", pixel)
        assert loser.terms == () and "wins 0 of the 1" in loser.note


def test_overlapping_max_pool_collects_every_window_a_pixel_wins():
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, 1, 1] = 5.0  # the centre is the maximum of all four 2×2 windows
    session = single_op_session("maxpool2d", {"kernel": 2, "stride": 1}, x)
    centre = check_entry(session, pass_tensors(session), torch_reference(session),
                         "op", "grad_in/0", (0, 0, 1, 1))
    assert len(centre.terms) == 4


def test_avg_pool_padding_counts_in_the_divisor_but_is_not_a_term():
    x = np.random.default_rng(2).standard_normal((2, 2, 4, 4))
    session = single_op_session("avgpool2d", {"kernel": 3, "stride": 1, "padding": 1}, x)
    corner = check_entry(session, pass_tensors(session), torch_reference(session),
                         "op", "out", (0, 1, 0, 0))
    assert len(corner.terms) == 4
    assert all(t.factors[0].label == "1/9" and t.factors[0].key is None for t in corner.terms)


# -- mistakes check_entry catches -----------------------------------------------------
def test_an_off_by_one_tap_index_is_caught(monkeypatch):
    from bpviz.engine.ops import conv

    x = np.random.default_rng(3).standard_normal((1, 2, 6, 6))
    session = single_op_session("conv2d", {"out_channels": 2, "kernel": 3}, x)
    tensors = pass_tensors(session)
    check_entry(session, tensors, None, "op", "out", (0, 1, 1, 1))
    right = conv.WindowGeometry.read

    def one_column_right(self, window, tap):
        pixel = right(self, window, tap)
        return None if pixel is None or pixel[1] + 1 >= self.size[1] else (
            pixel[0], pixel[1] + 1)

    monkeypatch.setattr(conv.WindowGeometry, "read", one_column_right)
    for tensor, at in (("out", (0, 1, 1, 1)), ("grad/weight", (1, 0, 2, 0))):
        with pytest.raises(AssertionError, match="add up to"):
            check_entry(session, tensors, None, "op", tensor, at)


def test_a_wrong_tie_rule_is_caught(monkeypatch):
    from bpviz.engine.ops import pool

    x = np.zeros((1, 1, 2, 2))
    x[0, 0, 0, :] = 1.0  # a tie between (0, 0) and (0, 1)
    session = single_op_session("maxpool2d", {"kernel": 2}, x)
    tensors = pass_tensors(session)
    first = pool.max_winner

    def last_maximum(plane, geometry, window):
        tap, pixel = first(plane, geometry, window)
        ties = [(t, geometry.read(window, t)) for t in geometry.taps()
                if geometry.read(window, t) is not None
                and plane[geometry.read(window, t)] == plane[pixel]]
        return ties[-1]

    monkeypatch.setattr(pool, "max_winner", last_maximum)
    with pytest.raises(AssertionError):
        check_entry(session, tensors, None, "op", "grad_in/0", (0, 0, 0, 0))
