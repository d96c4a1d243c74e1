"""The tensors of an update step: each parameter before, its gradient, after, and the change.

For every parameter θ of the node (W and b; γ and β for batchnorm), in this
order: θ before the update, ∂L/∂θ (the backward pass's), θ after, and
Δθ = θ after − θ before; then the optimizer's state after the step (SGD's
velocity v, Adam's moments m and v). All of them are the UpdateStep's own
arrays (bpviz.engine.updating), shown whole (no batch axis). The tab shown
first is ΔW: before and after differ by little, the change is what the step did.
"""

from __future__ import annotations

from bpviz.engine import OPS
from bpviz.engine.formulas import LOSS
from bpviz.engine.updating import UpdateStep

STATE_SYMBOLS = {"momentum_buffer": "v", "exp_avg": "m", "exp_avg_sq": "v"}
FIRST_KEY = "delta:weight"  # the tab an update step opens on, when the node has a weight


def update_entries(step: UpdateStep, entry_type) -> list:
    """The step's tensors as `entry_type` (tensor_view.TensorEntry) records."""
    symbols = OPS[step.op].param_symbols  # W and b; γ and β for batchnorm
    entries = []
    for name, before in step.params_before.items():
        theta = symbols.get(name, name)
        after = step.params_after[name]
        entries += [
            entry_type(f"before:{name}", f"{theta} before", before, False, "parameter"),
            entry_type(f"grad:{name}", f"∂{LOSS}/∂{theta}", step.grad_params[name], False,
                       "gradient"),
            entry_type(f"after:{name}", f"{theta} after", after, False, "parameter"),
            entry_type(f"delta:{name}", f"Δ{theta}",
                       step.deltas[name] if name in step.deltas else after - before,
                       False, "gradient"),
        ]
        for state, value in step.state_after.get(name, {}).items():
            if state in STATE_SYMBOLS and hasattr(value, "shape"):
                symbol = STATE_SYMBOLS[state]
                entries.append(entry_type(f"state:{name}:{state}", f"{symbol} of {theta}",
                                          value, False, "gradient"))
    return entries


def first_key(keys: list[str]) -> str | None:
    """The tab an update step opens on: ΔW, else the first change, else the first tab."""
    if FIRST_KEY in keys:
        return FIRST_KEY
    return next((key for key in keys if key.startswith("delta:")), keys[0] if keys else None)


class KeyBeforeUpdate:
    """The tab in use when a pass entered its update phase, given back when it
    leaves it (stepping back), so a step looks the same both ways."""

    def __init__(self) -> None:
        self.key: str | None = None

    def previous(self, old_phase: str | None, new_phase: str | None,
                 current: str | None) -> str | None:
        """The key the new step should keep, when it has one."""
        entering, leaving = old_phase != "update", new_phase != "update"
        if new_phase == "update" and entering:
            self.key = current
        if old_phase == "update" and leaving:
            return self.key
        return current
