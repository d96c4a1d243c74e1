"""The formula of an update step, in the lecture's notation, with its numbers.

The lecture writes one gradient-descent step as W_H ← W_H − α ∇_{W_H} L(θ):
α is the learning rate (torch's lr). An update step's lines give the rule
for every parameter θ of the node (W and b; γ and β for batchnorm), with
weight decay g = ∂L/∂θ + λθ where it is on; momentum as a velocity
v ← μ v + g, θ ← θ − α v (torch's momentum_buffer, v = g at the first
step); Adam's moments m and v with the step count t and their bias
corrections 1 − β₁ᵗ and 1 − β₂ᵗ (written out: a combining hat, m̂, does not
print reliably in every font). Then, per parameter, how far it moved (‖Δθ‖/‖θ‖) and
the rule again with the numbers of the entry that moved most, read from the
step's own before, after and state. The last update step of a pass ends with
L on the same batch before and after the whole update.

Indices are the stored ones: a conv weight's entry names its axes,
W[m=2,n=0,k1=1,k2=1] (bpviz stores [m, n, k1, k2], the lecture writes
W[k1, k2, n, m]).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bpviz.engine.shape_text import shape_text
from bpviz.engine.updating import UpdateStep

OPTIMIZER_NAMES = {"sgd": "SGD", "adam": "Adam"}
NO_JACOBIAN = "an update changes each entry from its own gradient and state: no Jacobian"


@dataclass(frozen=True)
class UpdateText:
    title: str
    lines: tuple[str, ...]  # the rule, then the numbers of each parameter, then L
    context: str  # where the gradients come from


def number(value: float) -> str:
    """Four significant digits: 0.04213, -1.207, 3.1e-05."""
    return "0" if value == 0 else f"{float(value):.4g}"


def factor(value: float) -> str:
    """A number after an operator: negative ones in parentheses, 0.05 · (−1.207)."""
    text = number(value)
    return f"({text})" if text.startswith("-") else text


def update_text(step: UpdateStep, symbols: dict[str, str]) -> UpdateText:
    """The update step's title, lines and context; `symbols` names its parameters
    (weight → W, bias → b, or γ, β)."""
    settings = step.settings
    names = {name: symbols.get(name, name) for name in step.params_before}
    thetas = " and ".join(names.values())
    lines = rule_lines(settings, thetas)
    for name, symbol in names.items():
        lines.append(f"{_change_text(step, name, symbol)};  most moved: "
                     f"{_entry_text(step, name, symbol)}")
    if step.index == step.total - 1:
        lines.append(f"L on this batch: {number(step.loss_before)} before → "
                     f"{number(step.loss_after)} after the update "
                     "(a second forward pass with the new weights)")
    optimizer = OPTIMIZER_NAMES.get(settings["optimizer"], settings["optimizer"])
    title = f"{step.op} '{step.node}' · update · {optimizer}"
    gradients = ", ".join(f"∂L/∂{symbol}" for symbol in names.values())
    context = (f"{gradients} from the backward step of '{step.node}'; "
               "the pass's network keeps its weights")
    return UpdateText(title, tuple(lines), context)


def rule_lines(settings: dict[str, Any], thetas: str) -> list[str]:
    """The update rule for every θ in `thetas`, with the optimizer's settings."""
    decay = settings.get("weight_decay", 0.0)
    grad = "g" if decay else "∂L/∂θ"
    lines = []
    if decay:
        lines.append(f"for θ = {thetas}: g = ∂L/∂θ + λθ  (weight decay λ = {number(decay)})")
    lead = "" if decay else f"for θ = {thetas}: "
    lr = f"α = {number(settings['lr'])}"
    if settings["optimizer"] == "adam":
        beta1, beta2 = settings["betas"]
        lines.append(f"{lead}t ← t + 1,  m ← β₁ m + (1 − β₁) {grad},  "
                     f"v ← β₂ v + (1 − β₂) {'g²' if decay else '(∂L/∂θ)²'}  "
                     "(m = v = 0 before the first step)")
        lines.append("θ ← θ − α · (m/(1 − β₁ᵗ)) / (√(v/(1 − β₂ᵗ)) + ε);  "
                     f"{lr}, β₁ = {number(beta1)}, β₂ = {number(beta2)}, "
                     f"ε = {number(settings['eps'])}")
        return lines
    momentum = settings.get("momentum", 0.0)
    if not momentum:
        lines.append(f"{lead}θ ← θ − α {grad};  {lr}")
        return lines
    damped = (f"(1 − τ) {grad}" if settings.get("dampening") else grad)
    lines.append(f"{lead}v ← μ v + {damped}  (velocity, v = {grad} at the first step)")
    step = f"θ ← θ − α ({grad} + μ v)" if settings.get("nesterov") else "θ ← θ − α v"
    extra = f", τ = {number(settings['dampening'])}" if settings.get("dampening") else ""
    lines.append(f"{step};  {lr}, μ = {number(momentum)}{extra}"
                 + ("  (Nesterov)" if settings.get("nesterov") else ""))
    return lines


def _change_text(step: UpdateStep, name: str, symbol: str) -> str:
    """How far θ moved as a whole: ‖Δθ‖ and ‖Δθ‖/‖θ‖ (θ before the update)."""
    before = step.params_before[name]
    change = float(np.linalg.norm(_delta(step, name)))
    size = float(np.linalg.norm(before))
    ratio = f", {100 * change / size:.3g} % of ‖{symbol}‖" if size > 0 else f" ({symbol} was 0)"
    return f"{symbol} ({shape_text(before.shape)}): ‖Δ{symbol}‖ = {number(change)}{ratio}"


def _delta(step: UpdateStep, name: str) -> np.ndarray:
    """Δθ: the step's own, else made here."""
    delta = step.deltas.get(name)
    return delta if delta is not None else step.params_after[name] - step.params_before[name]


def index_text(at: tuple[int, ...]) -> str:
    """[2,0,1,1]; a conv weight's index names its axes, stored as [m, n, k1, k2]."""
    if len(at) == 4:
        return "[" + ",".join(f"{axis}={i}" for axis, i in zip(("m", "n", "k1", "k2"), at)) + "]"
    return f"[{','.join(map(str, at))}]" if at else ""


def _entry_text(step: UpdateStep, name: str, symbol: str) -> str:
    """The rule with the numbers of the entry of θ that moved most."""
    before, after = step.params_before[name], step.params_after[name]
    flat = int(np.argmax(np.abs(_delta(step, name)))) if before.size else 0
    at = tuple(int(i) for i in np.unravel_index(flat, before.shape)) if before.ndim else ()
    index = index_text(at)
    old, new = float(before[at]), float(after[at])
    grad = float(step.grad_params[name][at])
    settings, lr = step.settings, number(step.settings["lr"])
    state_before, state_after = step.state_before[name], step.state_after[name]
    decay = settings.get("weight_decay", 0.0)
    g = grad + decay * old
    parts = []
    if decay or settings["optimizer"] == "adam" or "momentum_buffer" in state_before:
        parts.append(f"∂L/∂{symbol}{index} = {number(grad)}")
    if decay:
        parts.append(f"g = {number(grad)} + {number(decay)} · {factor(old)} = {number(g)}")
    if settings["optimizer"] == "adam":
        t = state_after["step"]
        m, v = float(state_after["exp_avg"][at]), float(state_after["exp_avg_sq"][at])
        first, second = (1 - beta ** t for beta in settings["betas"])
        parts.append(f"t = {int(t)}, m = {number(m)}, v = {number(v)}")
        parts.append(f"{symbol}{index} = {number(old)} − {lr} · ({number(m)}/{number(first)}) / "
                     f"(√({number(v)}/{number(second)}) + ε) = {number(new)}")
    elif settings.get("momentum"):
        velocity = float(state_after["momentum_buffer"][at])
        if "momentum_buffer" in state_before:
            earlier = float(state_before["momentum_buffer"][at])
            damping = settings.get("dampening", 0.0)
            added = f"{number(1 - damping)} · {factor(g)}" if damping else factor(g)
            parts.append(f"v = {number(settings['momentum'])} · {factor(earlier)} + {added} "
                         f"= {number(velocity)}")
        else:
            first = "g" if decay else f"∂L/∂{symbol}"
            parts.append(f"v = {first} = {number(velocity)} (first step)")
        moved = (f"({number(g)} + {number(settings['momentum'])} · {factor(velocity)})"
                 if settings.get("nesterov") else factor(velocity))
        parts.append(f"{symbol}{index} = {number(old)} − {lr} · {moved} = {number(new)}")
    else:
        parts.append(f"{symbol}{index} = {number(old)} − {lr} · {factor(g)} = {number(new)}")
    return ",  ".join(parts)
