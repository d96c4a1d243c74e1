"""The torch check of a pass ("Verify against torch"), a plain function for a worker thread.

`verify` rebuilds the pass's network (same seed, weights and mode) and
compares it with PyTorch on the same batch; torch is imported there, on
the worker thread, never when the window starts. What it finds is a
Verified (bpviz.workspace.passes), with a badge per node.
"""

from __future__ import annotations

import numpy as np

from bpviz.workspace.passes import SessionSpec, Verified, spec_network


def verify(spec: SessionSpec, feeds: dict[str, np.ndarray],
           targets: dict[str, np.ndarray]) -> Verified:
    """Compare the engine with torch on the session's network and batch."""
    from bpviz.oracle.compare import compare_network

    network = spec_network(spec).network
    comparison = compare_network(network, feeds, targets)
    results = {node.id: badge(node) for node in comparison.nodes}
    bad = [node.id for node in comparison.failed]
    if comparison.ok:
        worst = max((largest_error(node) for node in comparison.nodes), default=0.0)
        summary = (f"torch agrees on every node (largest error {worst:.2g}, "
                   f"tolerance {comparison.tolerance:g})")
    elif bad:
        summary = f"torch disagrees on {len(bad)} node(s): {', '.join(bad[:6])}"
    else:
        summary = (f"torch disagrees on the loss: {comparison.loss_engine:.6g} vs "
                   f"{comparison.loss_torch:.6g}")
    return Verified(comparison.ok, results, summary)


def largest_error(node) -> float:
    errors = [node.forward_err, node.grad_err, node.param_grad_err, node.buffer_err]
    return max((e for e in errors if e is not None), default=0.0)


def badge(node) -> tuple[bool, str, str]:
    """(ok, text on the badge, tooltip) for one NodeComparison."""
    worst = largest_error(node)
    text = f"{worst:.1e}".replace("e-0", "e-").replace("e+0", "e")
    lines = [f"torch check of '{node.id}' ({node.op}): " + ("agrees" if node.ok else
                                                            "DISAGREES"),
             f"output error {node.forward_err:.3g} (scale {node.forward_scale:.3g})"]
    if node.grad_err is not None:
        lines.append(f"∂L/∂out error {node.grad_err:.3g} (scale {node.grad_scale:.3g})")
    if node.param_grad_err is not None:
        lines.append(f"∂L/∂θ error {node.param_grad_err:.3g}")
    if node.failures:
        lines.append("failed: " + ", ".join(node.failures))
    return node.ok, text, "\n".join(lines)
