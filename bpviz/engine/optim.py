"""Optimizers: update a Network's parameters in place from the last backward pass.

The update rules are torch.optim's (SGD and non-amsgrad Adam with L2 weight
decay), written with the same formulas in the same order of operations, so a
float64 trajectory agrees with torch's to rounding (~1e-12).

Only nodes whose `op.trainable` is True are updated, and only the parameters
that have a gradient in `op.grads`; a frozen node's arrays are never written.
State (momentum buffers, Adam moments and step counts) is kept per
(node id, parameter name) and in the parameter's dtype: float32 stays float32.
`snapshot()` and `restore()` copy it (a trainer undoing an update that went
non-finite), and the settings in `TUNABLE` may change between steps
(`set_options`), as torch's param_groups allow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from bpviz.engine.executor import Network

Key = tuple[str, str]


class Optimizer:
    """Shared parts: walking the trainable parameters and clearing gradients."""

    TUNABLE: ClassVar[tuple[str, ...]] = ("lr",)  # settings set_options may change

    def __init__(self, network: Network, lr: float) -> None:
        if not lr >= 0.0:
            raise ValueError(f"learning rate must be at least 0, got {lr!r}")
        self.network = network
        self.lr = float(lr)
        self.state: dict[Key, dict[str, Any]] = {}

    def trainable(self) -> Iterator[tuple[Key, np.ndarray, np.ndarray]]:
        """(key, param, grad) for each parameter the next step will update.

        grad is the stored gradient as an array of the parameter's dtype.
        """
        for node in self.network.order:
            if not node.op.trainable:
                continue
            for name, param in node.op.params.items():
                grad = node.op.grads.get(name)
                if grad is not None:
                    yield (node.id, name), param, np.asarray(grad, dtype=param.dtype)

    def slot(self, key: Key, param: np.ndarray) -> dict[str, Any]:
        """The state of one parameter; reset when its shape or dtype has changed."""
        state = self.state.get(key)
        if state is not None and state.get("shape") == (param.shape, param.dtype):
            return state
        state = {"shape": (param.shape, param.dtype)}
        self.state[key] = state
        return state

    def step(self) -> None:
        for key, param, grad in self.trainable():
            self.update(self.slot(key, param), param, grad)

    def update(self, state: dict[str, Any], param: np.ndarray, grad: np.ndarray) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        """Forget every node's parameter gradients (torch's set_to_none)."""
        for node in self.network.order:
            node.op.grads = {}

    # -- settings and state ---------------------------------------------------------------
    def checked_options(self, options: dict[str, Any]) -> dict[str, float]:
        """`options` (setting name → value) as floats; ValueError names a bad one."""
        checked = {}
        for name, value in options.items():
            if name not in self.TUNABLE:
                raise ValueError(f"{type(self).__name__} has no setting {name!r} to change "
                                 f"(it has {', '.join(self.TUNABLE)})")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise ValueError(f"the {_LABELS.get(name, name)} must be a number, "
                                 f"got {value!r}") from None
            if not (math.isfinite(number) and number >= 0.0):
                raise ValueError(f"the {_LABELS.get(name, name)} must be a finite number "
                                 f"of at least 0, got {value!r}")
            checked[name] = number
        return checked

    def set_options(self, options: dict[str, Any]) -> None:
        """Change settings of `TUNABLE` (checked as `checked_options`) for the next steps."""
        for name, value in self.checked_options(options).items():
            setattr(self, name, value)

    def state_arrays(self) -> Iterator[tuple[Key, str, np.ndarray]]:
        """((node id, parameter name), state name, array) for every array of state."""
        for key, slot in self.state.items():
            for name, value in slot.items():
                if isinstance(value, np.ndarray):
                    yield key, name, value

    def snapshot(self) -> dict[Key, dict[str, Any]]:
        """A copy of the state that `restore` can bring back (any number of times)."""
        return _copy_state(self.state)

    def restore(self, snapshot: dict[Key, dict[str, Any]]) -> None:
        self.state = _copy_state(snapshot)


_LABELS = {"lr": "learning rate", "weight_decay": "weight decay"}


def _copy_state(state: dict[Key, dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {key: {name: value.copy() if isinstance(value, np.ndarray) else value
                  for name, value in slot.items()}
            for key, slot in state.items()}


class SGD(Optimizer):
    """torch.optim.SGD: g ← g + λθ;  b ← μb + (1 − τ)g (b = g at first);
    g ← g + μb (Nesterov) or g ← b;  θ ← θ − η g."""

    TUNABLE = ("lr", "momentum", "weight_decay")

    def __init__(self, network: Network, lr: float, momentum: float = 0.0,
                 weight_decay: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(network, lr)
        if momentum < 0.0:
            raise ValueError(f"momentum must be at least 0, got {momentum!r}")
        if weight_decay < 0.0:
            raise ValueError(f"weight decay must be at least 0, got {weight_decay!r}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum needs a momentum above 0 and zero dampening")
        self.momentum = float(momentum)
        self.weight_decay = float(weight_decay)
        self.dampening = float(dampening)
        self.nesterov = bool(nesterov)

    def checked_options(self, options: dict[str, Any]) -> dict[str, float]:
        checked = super().checked_options(options)
        if self.nesterov and checked.get("momentum", self.momentum) <= 0:
            raise ValueError("Nesterov momentum needs a momentum above 0")
        return checked

    def update(self, state: dict[str, Any], param: np.ndarray, grad: np.ndarray) -> None:
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        if self.momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * grad
            grad = grad + self.momentum * buf if self.nesterov else buf
        param -= self.lr * grad


class Adam(Optimizer):
    """torch.optim.Adam (no amsgrad, L2 weight decay added to the gradient).

    t ← t + 1;  g ← g + λθ;  m ← m + (1 − β₁)(g − m);  v ← β₂v + (1 − β₂)g²;
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
    """

    TUNABLE = ("lr", "weight_decay")

    def __init__(self, network: Network, lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(network, lr)
        beta1, beta2 = betas
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Adam {name} must lie in [0, 1), got {beta!r}")
        if not eps >= 0.0:
            raise ValueError(f"Adam eps must be at least 0, got {eps!r}")
        if weight_decay < 0.0:
            raise ValueError(f"weight decay must be at least 0, got {weight_decay!r}")
        self.betas = (float(beta1), float(beta2))
        self.eps = float(eps)
        self.weight_decay = float(weight_decay)

    def update(self, state: dict[str, Any], param: np.ndarray, grad: np.ndarray) -> None:
        beta1, beta2 = self.betas
        if "step" not in state:
            state["step"] = 0.0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1.0
        step = state["step"]
        if self.weight_decay != 0:
            grad = grad + self.weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        _lerp(exp_avg, grad, 1 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1 - beta2) * grad) * grad
        bias_correction1 = 1 - beta1**step
        bias_correction2 = 1 - beta2**step
        step_size = self.lr / bias_correction1
        denom = np.sqrt(exp_avg_sq) / bias_correction2**0.5
        denom += self.eps
        param += (-step_size * exp_avg) / denom


def _lerp(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← start + weight (end − start), in place, with torch.lerp's two branches."""
    # NOTE: torch evaluates weights ≥ 0.5 from the other end, end − (end − start)(1 − w),
    # which is exact at w = 1; both branches agree up to rounding.
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1 - weight)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, network: Network, **kwargs: Any) -> Optimizer:
    """An optimizer by name ("sgd" or "adam"); kwargs go to its constructor.

    SGD needs lr; Adam's lr defaults to 1e-3.
    """
    cls = OPTIMIZERS.get(name.lower())
    if cls is None:
        raise ValueError(f"unknown optimizer {name!r} (choose from {', '.join(OPTIMIZERS)})")
    return cls(network, **kwargs)
