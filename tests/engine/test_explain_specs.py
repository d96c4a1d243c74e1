"""Every op's explanation of its entries, driven by the op spec table: for each spec,
a pass of inputs → the op, and random entries of every tensor the op explains,
checked by explain_checks.check_entry (the terms add up, the factors are the
pass's entries, the entry is torch's). An op that explains nothing yet is skipped."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.stepping import StepSession
from tests.engine.explain_checks import check_entry, pass_tensors, random_entries
from tests.engine.op_specs import SPECS, OpSpec
from tests.engine.test_ops_vs_torch import build

pytest.importorskip("torch")


def spec_session(spec: OpSpec) -> StepSession:
    """x0, x1, … → the spec's op (its parameters random, as the torch comparison sets them)."""
    op, xs, target = build(spec, np.float64)
    inputs = [f"x{k}" for k in range(len(xs))]
    nodes = [NodeSpec(name, OPS["input"](shape=list(x.shape[1:]))) for name, x in zip(inputs, xs)]
    nodes.append(NodeSpec("op", op, inputs))
    if hasattr(op, "reuse_mask"):
        op.reuse_mask = True  # dropout: one mask for the pass and its explanation
    feeds = dict(zip(inputs, xs))
    return StepSession(Network(nodes), feeds, {} if target is None else {"op": target})


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_explanations_add_up_and_agree_with_torch(spec: OpSpec):
    from tests.engine.explain_checks import torch_reference

    session = spec_session(spec)
    tensors = pass_tensors(session)
    reference = torch_reference(session)
    checked = 0
    for node, tensor, at in random_entries(session, np.random.default_rng(0), ops={spec.op}):
        if tensor in ("grad_out", "target") or tensor.startswith("param/"):
            continue  # the graph explains these, not the op
        try:
            check_entry(session, tensors, reference, node, tensor, at)
        except NotImplementedError:
            continue
        checked += 1
    if not checked:
        pytest.skip(f"{spec.op} explains none of its entries yet")
