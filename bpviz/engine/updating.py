"""The update step: what one optimizer step does to each trainable node, as Steps.

After a pass's backward steps, `update_steps(network, optimizer, feeds,
targets, outputs)` applies one step of `optimizer` (bpviz.engine.optim) to
the gradients of that backward pass and returns one UpdateStep per node it
changes, then the loss on the same batch after the update: a second forward
pass with the new weights (the same batch, the same dropout masks, batchnorm
as in the first pass).

All of it happens on a copy of the network (parameters, gradients, buffers,
dropout masks) and of the optimizer's state, so the network and the
optimizer are left exactly as they were: the pass shows the update without
making it. A trainer makes it (bpviz.engine.trainer).

Which nodes: those the optimizer updates, trainable ones with a parameter
that has a gradient. A frozen node (transfer learning) gets no update step.

Order: topological, from the input to the loss, the order torch.optim walks
a model's parameters (the order they were registered in, i.e. the order of
the layers). Each update reads only its own parameter, gradient and state,
so every order gives the same weights; the forward order is the one the
network is drawn and read in, and it puts the first layer, whose small
gradients the backward pass has just shown, first.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bpviz.engine.executor import Executor, Network, Step
from bpviz.engine.optim import OPTIMIZERS, SGD, Adam, Optimizer

State = dict[str, dict[str, Any]]  # parameter name → state name → array or number


@dataclass
class UpdateStep(Step):
    """One node's parameters before and after one optimizer step.

    grad_params: the gradients the update used (∂L/∂θ of the backward pass).
    state_before / state_after: the optimizer's state per parameter, by
    torch.optim's names ("momentum_buffer"; Adam's "exp_avg" m, "exp_avg_sq"
    v and "step" t); empty before a first step. settings: the optimizer's
    name and settings (`optimizer_settings`). loss_before / loss_after: L on
    the batch before and after the whole update (the same in every step).
    deltas: Δθ = θ after − θ before per parameter, made once (a view shows it at
    every visit). text: the step's formula text (update_formulas.update_text),
    kept by the first that makes it: it reads every entry of θ, too slow to
    repeat for a large layer at each step.
    """

    params_before: dict[str, np.ndarray] = field(default_factory=dict)
    params_after: dict[str, np.ndarray] = field(default_factory=dict)
    state_before: State = field(default_factory=dict)
    state_after: State = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    loss_before: float = float("nan")
    loss_after: float = float("nan")
    deltas: dict[str, np.ndarray] = field(default_factory=dict)
    text: Any = None


def optimizer_settings(optimizer: Optimizer) -> dict[str, Any]:
    """{"optimizer": "sgd" or "adam", and its settings}, as make_optimizer takes them."""
    name = next(key for key, cls in OPTIMIZERS.items() if isinstance(optimizer, cls))
    settings: dict[str, Any] = {"optimizer": name, "lr": optimizer.lr}
    if isinstance(optimizer, SGD):
        settings.update(momentum=optimizer.momentum, weight_decay=optimizer.weight_decay,
                        dampening=optimizer.dampening, nesterov=optimizer.nesterov)
    elif isinstance(optimizer, Adam):
        settings.update(betas=optimizer.betas, eps=optimizer.eps,
                        weight_decay=optimizer.weight_decay)
    return settings


def update_steps(network: Network, optimizer: Optimizer, feeds: dict[str, np.ndarray],
                 targets: dict[str, np.ndarray], outputs: dict[str, np.ndarray],
                 loss_before: float) -> tuple[list[UpdateStep], float]:
    """(one UpdateStep per updated node, L on the same batch after the update).

    Call after a backward pass of `network` (its ops hold the gradients);
    `outputs` are that pass's node outputs, `loss_before` its L.
    """
    if optimizer.network is not network:
        raise ValueError("the optimizer updates the parameters of another network")
    # NOTE: the twin shares the network's gradient arrays (an update only reads them)
    # and copies the rest: its parameters are updated in place and become θ after.
    shared: dict[int, Any] = {id(grad): grad for node in network.order
                              for grad in node.op.grads.values()}
    twin = copy.deepcopy(network, shared)
    stepper = copy.copy(optimizer)
    stepper.network, stepper.state = twin, optimizer.snapshot()
    settings = optimizer_settings(optimizer)
    groups: dict[str, list] = {}
    for key, param, grad in stepper.trainable():
        groups.setdefault(key[0], []).append((key, param, grad))
    steps = []
    for index, (node_id, entries) in enumerate(groups.items()):
        params = {key[1]: param for key, param, _ in entries}
        # NOTE: θ before is the network's own array (the update changes the twin's), θ
        # after the twin's, which nothing changes after this step: no copies of either.
        before = {name: network.nodes[node_id].op.params[name] for name in params}
        state_before = {key[1]: _state_copy(stepper.slot(key, param))
                        for key, param, _ in entries}
        grads = {key[1]: grad for key, _, grad in entries}
        for key, param, grad in entries:
            stepper.update(stepper.slot(key, param), param, grad)
        node = twin.nodes[node_id]
        after = dict(params)
        steps.append(UpdateStep(
            "update", index, len(groups), node_id, node.op.op_name, (), outputs[node_id],
            _rule(settings), grad_params=grads, params_before=before,
            params_after=after, state_before=state_before,
            state_after={key[1]: _state_copy(stepper.state[key], copy=False)
                         for key, _, _ in entries},
            settings=settings, loss_before=loss_before,
            deltas={name: after[name] - before[name] for name in after}))
    loss_after = _loss_after(twin, feeds, targets)
    for step in steps:
        step.loss_after = loss_after
    return steps, loss_after


def _state_copy(slot: dict[str, Any], copy: bool = True) -> dict[str, Any]:
    """The state arrays and numbers of one parameter, without its bookkeeping; the
    arrays copied, or (copy=False: after the parameter's only update) shared."""
    return {name: value.copy() if copy and isinstance(value, np.ndarray) else value
            for name, value in slot.items() if name != "shape"}


def _loss_after(twin: Network, feeds: dict[str, np.ndarray],
                targets: dict[str, np.ndarray]) -> float:
    """L of a forward pass of the updated copy on the same batch."""
    for node in twin.order:
        if hasattr(node.op, "reuse_mask"):
            node.op.reuse_mask = True  # dropout: the masks of the first pass
    return Executor(twin).run(feeds, targets, backward=False)


def _rule(settings: dict[str, Any]) -> str:
    """The update rule in one line, θ for every parameter (the Step's `formula`)."""
    if settings["optimizer"] == "adam":
        return "θ ← θ − α · (m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε)"
    if settings.get("momentum"):
        return "v ← μ v + ∂L/∂θ,  θ ← θ − α v"
    return "θ ← θ − α ∂L/∂θ"
