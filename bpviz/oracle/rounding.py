"""The rounding model of a parameter gradient (bpviz.oracle.compare's tolerance).

An engine parameter gradient e is judged against torch's r with the
allowance ROUNDING_MULTIPLE · noise, noise the sum of

* its own rounding, bounded: ε · max Σ |t| (`magnitude`), the terms t the
  gradient sums, whatever the order they were added in;
* the rounding it carries, measured as for outputs and ∂L/∂out: torch makes
  the node's parameter gradient again, in the other precision, from the other
  precision's inputs and ∂L/∂out (`other_precision`), and noise grows by
  max |r − r_other| · (ε / ε of float32). That holds what the bound leaves
  out: the rounding the inputs and ∂L/∂out carry in, far larger than ε deep in
  a network computed in float32 (at the last stage of a ResNet-50 relative
  errors of about 1e-4, as far from a float64 run for torch as for the
  engine), and the op's own cancellation (batchnorm's x − μ with |μ| ≫ σ).
"""

from __future__ import annotations

import numpy as np
import torch

from bpviz.engine.executor import Network
from bpviz.oracle.torch_graph import shared, torch_dtype, torch_fn

Snapshot = dict[str, dict[str, np.ndarray]]


def magnitude(network: Network, node_id: str, values: dict[str, np.ndarray],
              grad_out: np.ndarray, buffers: Snapshot) -> dict[str, np.ndarray]:
    """Per parameter θ of the node, Σ_o |∂L/∂out_o| · |∂out_o/∂θ|: the magnitude of
    the terms its gradient sums. For a weight (dense, conv: every output linear
    in both input and weight) that is the gradient at |inputs| and |∂L/∂out|,
    Σ |x|·|∂L/∂out|; for a per-channel parameter (a bias, batchnorm's γ and β:
    each output depends on one of its entries, affinely) ∂out/∂θ is read off
    as f(θ + 1) − f(θ), and the sum is the gradient with ∂L/∂out's signs
    replaced by those of ∂out/∂θ. torch, in the values' dtype."""
    node = network.nodes[node_id]
    dtype = torch_dtype(grad_out.dtype)
    xs = [torch.as_tensor(values[s], dtype=dtype) for s in node.inputs]
    params = {k: shared(v, dtype) for k, v in node.op.params.items()}
    store = {k: torch.tensor(v, dtype=dtype) for k, v in buffers.get(node_id, {}).items()}
    with torch.enable_grad():  # also from inside a backward pass, where grad mode is off
        return {name: np.abs(summed(node, name, xs, params, grad_out, store))
                for name in node.op.params}


def summed(node, name: str, xs: list[torch.Tensor], params: dict[str, torch.Tensor],
            grad_out: np.ndarray, buffers: dict[str, torch.Tensor],
            rows: slice | None = None) -> np.ndarray:
    """magnitude's signed sum for θ = params[name], or for θ[rows] with those rows of
    every parameter (a by-channel rule, grad_out then those channels' ∂L/∂out)."""
    dtype = torch_dtype(grad_out.dtype)
    fn = torch_fn(node.op.op_name)
    if rows is not None:
        params = {k: t[rows] for k, t in params.items()}

    def run(inputs, own: torch.Tensor) -> torch.Tensor:
        store = {k: t.clone() for k, t in buffers.items()}  # training updates them in place
        return fn(inputs, {**params, name: own}, store, node.op.hp, node.op)

    theta = params[name].detach().clone().requires_grad_()
    upstream = torch.as_tensor(np.abs(grad_out), dtype=dtype)
    if theta.dim() > 1:
        out = run([x.abs() for x in xs], theta)
    else:
        with torch.no_grad():
            slope = run(xs, theta + 1) - run(xs, theta)
        out = run(xs, theta)
        upstream = upstream * torch.sign(slope)
    (found,) = torch.autograd.grad(out, [theta], upstream, allow_unused=True)
    return np.zeros(tuple(theta.shape)) if found is None else found.numpy()


def other_precision(node, name: str, params: dict[str, np.ndarray], buffers,
                    xs: list[np.ndarray], grad_out: np.ndarray, dtype: np.dtype,
                    rows: slice | None = None) -> np.ndarray | None:
    """The node's ∂L/∂θ made by torch in `dtype` from the other precision's inputs
    and ∂L/∂out (θ[rows] with those rows of every parameter and those channels of
    ∂L/∂out, for a by-channel rule); None when θ does not reach the output."""
    kind = torch_dtype(dtype)
    theta_all = {k: torch.as_tensor(np.asarray(v), dtype=kind) for k, v in params.items()}
    upstream = torch.as_tensor(grad_out, dtype=kind)
    if rows is not None:
        theta_all = {k: t[rows] for k, t in theta_all.items()}
        upstream = upstream[:, rows]
    theta = theta_all[name].clone().requires_grad_()
    store = {k: torch.as_tensor(np.asarray(v), dtype=kind).clone() for k, v in buffers.items()}
    inputs = [torch.as_tensor(x, dtype=kind) for x in xs]
    with torch.enable_grad():  # also from inside a backward pass
        out = torch_fn(node.op.op_name)(inputs, {**theta_all, name: theta}, store,
                                        node.op.hp, node.op)
        (found,) = torch.autograd.grad(out, [theta], upstream, allow_unused=True)
    return None if found is None else found.numpy()
