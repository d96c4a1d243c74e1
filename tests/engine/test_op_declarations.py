"""What every op declares about itself: defaults (non_default), the parameters a new
node starts with, its title, its symbols and formulas as data."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.formulas import describe_step
from bpviz.engine.op import check_hypers, non_default
from bpviz.engine.stepping import StepSession


# -- non_default ------------------------------------------------------------------
@pytest.mark.parametrize("op, params, expected", [
    ("conv2d", {"out_channels": 4, "kernel": 3, "stride": [1, 1], "dilation": [1, 1],
                "padding": 0, "bias": True}, {"out_channels": 4, "kernel": 3}),
    ("conv2d", {"out_channels": 4, "kernel": 3, "stride": [2, 1], "padding": [0, 1]},
     {"out_channels": 4, "kernel": 3, "stride": [2, 1], "padding": [0, 1]}),
    ("conv2d", {"bias": False, "dilation": 2}, {"bias": False, "dilation": 2}),
    ("maxpool2d", {"kernel": [2, 2], "stride": 2}, {"kernel": [2, 2]}),
    ("maxpool2d", {"kernel": 3, "stride": None, "padding": [0, 0]}, {"kernel": 3}),
    ("avgpool2d", {"kernel": 3, "stride": 1}, {"kernel": 3, "stride": 1}),
    ("dropout", {"p": 0.5}, {}),
    ("leaky_relu", {"slope": 0.2}, {"slope": 0.2}),
    ("batchnorm", {"eps": 1e-5, "momentum": 0.3}, {"momentum": 0.3}),
    ("mse", {"reduction": "mean"}, {}),
    ("dense", {"units": 3, "bias": 1}, {"units": 3, "bias": 1}),  # 1 is not true
])
def test_non_default_compares_values_not_spellings(op, params, expected):
    assert non_default(op, params) == expected
    assert non_default(OPS[op], params) == expected


def test_non_default_never_fails_on_a_half_edited_file():
    params = {"kernel": "three", "stride": [1], "padding": None, "unknown": 1}
    assert non_default("conv2d", params) == params  # none of them is a valid default
    assert non_default("no_such_op", {"a": 1}) == {"a": 1}


# -- the editor's starting values ---------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_starts_with_valid_parameters(name):
    cls = OPS[name]
    params = cls.start_params()
    check_hypers(cls, params)  # every required parameter has a starting value
    params_again = cls.start_params()
    for value in params.values():
        if isinstance(value, list):
            value.append(0)  # a new node's list is its own
    assert cls.start_params() == params_again


# -- titles ---------------------------------------------------------------------------
@pytest.mark.parametrize("op, params, title", [
    ("conv2d", {"out_channels": 8, "kernel": 3, "stride": [1, 1], "padding": 1}, "conv2d 8 3×3 p1"),
    ("conv2d", {"out_channels": 8, "kernel": [3, 2], "stride": [2, 1]}, "conv2d 8 3×2 s2×1"),
    ("maxpool2d", {"kernel": [2, 2], "stride": 2}, "maxpool2d 2×2"),
    ("avgpool2d", {"kernel": 2, "stride": 1, "padding": 1}, "avgpool2d 2×2 s1 p1"),
    ("input", {"shape": [1, 8, 8]}, "input 1×8×8"),
    ("dense", {"units": 10}, "dense 10"),
    ("leaky_relu", {"slope": 0.01}, "leaky_relu 0.01"),
    ("dropout", {"p": 0.25}, "dropout p=0.25"),
    ("bce", {"reduction": "sum"}, "bce (sum)"),
    ("bce", {}, "bce"),
])
def test_titles(op, params, title):
    assert OPS[op].title(params) == title


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("params", [None, "text", {"kernel": {}, "shape": 3, "units": None,
                                                   "stride": [[1]], "p": object()}])
def test_a_title_never_fails(name, params):
    assert OPS[name].title(params).startswith(name)


# -- formulas as data -------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_declares_its_symbols_and_formulas(name):
    cls = OPS[name]
    assert len(cls.symbols) == 2 and all(isinstance(s, str) for s in cls.symbols)
    assert isinstance(cls.backward_formula, tuple) and cls.backward_formula
    assert all(line and isinstance(line, str) for line in cls.backward_formula)
    assert cls.formula.startswith(cls.forward_formula or cls.backward_formula[0])


def conv_session(**hp) -> StepSession:
    rng = np.random.default_rng(0)
    nodes = [NodeSpec("x", OPS["input"](shape=[2, 6, 6])),
             NodeSpec("c", OPS["conv2d"](out_channels=2, kernel=3, **hp), ["x"])]
    nodes[1].op.init_params([(2, 6, 6)], rng, np.float64, "glorot")
    return StepSession(Network(nodes), {"x": rng.standard_normal((2, 2, 6, 6))})


def conv_backward_text(**hp):
    session = conv_session(**hp)
    step = next(s for s in session.steps if s.node == "c" and s.phase == "backward")
    return describe_step(step, session.network)


def test_a_stride_written_as_a_pair_of_ones_is_no_stride():
    text = conv_backward_text(stride=[1, 1], dilation=[1, 1])
    assert not any("stride s" in line for line in (*text.lines, *text.caption))


def test_a_stride_that_differs_is_explained_in_pair_text():
    text = conv_backward_text(stride=[2, 1], padding=1)
    line = next(line for line in text.lines if line.startswith("stride s"))
    assert line.startswith("stride s = 2×1, dilation d = 1, padding p = 1:")
    assert line in text.caption
