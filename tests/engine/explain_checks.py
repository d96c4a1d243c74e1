"""Checks every explanation must pass, against the pass itself and against torch.

`check_entry` explains one entry and asserts that
  * its terms add up to the entry (relative 1e-9 of the terms' magnitude, float64);
  * every factor that names a pass tensor equals that tensor's entry;
  * the entry equals torch's, relative 1e-9 of the larger of torch's tensor and the
    terms' magnitude (for out, grad_out and grad/<p>; grad_in/<k> is
    compared with torch's ∂L/∂(source) where the source feeds only this node).
`random_entries` picks entries of every tensor kind of every node of a session.
"""

from __future__ import annotations

import math

import numpy as np

from bpviz.engine.explain import Explanation, explain_entry
from bpviz.engine.stepping import StepSession
from bpviz.export.tensors import collect_tensors


def pass_tensors(session: StepSession) -> dict[str, np.ndarray]:
    """The session's tensors as the npz export names them, targets included."""
    return collect_tensors(session)


def torch_reference(session: StepSession) -> dict[str, np.ndarray]:
    from bpviz.oracle.compare import torch_pass

    return torch_pass(session.network, session.feeds, session.targets)


def check_entry(session: StepSession, tensors: dict[str, np.ndarray],
                torch_tensors: dict[str, np.ndarray] | None, node: str, tensor: str,
                at: tuple[int, ...]) -> Explanation:
    explanation = explain_entry(session, node, tensor, at)
    where = f"{node}/{tensor}{list(at)}"
    assert explanation.value == float(np.asarray(tensors[f"{node}/{tensor}"])[at]), where
    magnitude = max(abs(explanation.value), math.fsum(abs(t.value) for t in explanation.terms))
    assert abs(explanation.sum - explanation.value) <= 1e-9 * magnitude + 1e-300, (
        f"{where}: the terms add up to {explanation.sum!r}, the entry is {explanation.value!r}")
    for term in explanation.terms:
        for factor in term.factors:
            if factor.key is not None:
                assert factor.key in tensors, f"{where}: factor {factor.label} names {factor.key}"
                entry = float(np.asarray(tensors[factor.key])[factor.at])
                assert factor.value == entry, f"{where}: factor {factor.label}"
    if torch_tensors is not None:
        reference = _torch_entry(session, torch_tensors, node, tensor, at)
        if reference is not None:
            # An entry that sums to zero up to rounding (a conv bias before a batchnorm)
            # differs from torch's by that rounding: relative to its terms, not to itself.
            scale = max(1e-12, magnitude, float(np.max(np.abs(
                torch_tensors[_torch_key(session, node, tensor)]))))
            assert abs(explanation.value - reference) <= 1e-9 * scale, (
                f"{where}: {explanation.value!r} here, {reference!r} in torch")
    return explanation


def _torch_key(session: StepSession, node: str, tensor: str) -> str:
    if tensor.startswith("grad_in/"):
        source = session.network.nodes[node].inputs[int(tensor.split("/")[1])]
        return f"{source}/grad_out"
    return f"{node}/{tensor}"


def _torch_entry(session, torch_tensors, node, tensor, at) -> float | None:
    if tensor.startswith("grad_in/"):
        source = session.network.nodes[node].inputs[int(tensor.split("/")[1])]
        if len(session.network.consumers[source]) != 1:
            return None  # a fork: torch only has the sum over the consumers
    key = _torch_key(session, node, tensor)
    if key not in torch_tensors:
        return None
    return float(np.asarray(torch_tensors[key])[at])


def random_entries(session: StepSession, rng: np.random.Generator, per_tensor: int = 3,
                   ops: set[str] | None = None) -> list[tuple[str, str, tuple[int, ...]]]:
    """(node, tensor, index) for `per_tensor` random entries of every tensor of every
    node (of an op in `ops`, when given)."""
    chosen = []
    for key, array in pass_tensors(session).items():
        node, _, tensor = key.partition("/")
        if ops is not None and session.network.nodes[node].op.op_name not in ops:
            continue
        array = np.asarray(array)
        for _ in range(per_tensor):
            at = tuple(int(rng.integers(0, size)) for size in array.shape)
            chosen.append((node, tensor, at))
    return chosen
