"""The update step of a pass: which optimizer it shows, chosen in the Training panel.

A pass with the update phase on (StepSettings.update) ends, after its
backward steps, with one optimizer step per trainable node
(bpviz.engine.updating). The optimizer and its settings are the ones chosen
for the next training run (`Training.config`: SGD or Adam, learning rate,
SGD's momentum, weight decay where the config has one); before the panel has
said anything, `bpviz train`'s defaults for Adam (lr 0.01). When the pass
shows weights the panel has trained with the same optimizer, the step
continues that run's optimizer state (SGD's velocity, Adam's moments and
step count t; `continue_run`); otherwise it is a first step (v = ∂L/∂θ,
Adam's t = 1). `describe` says which.

A change of these settings changes what the update phase shows: the
workspace drops the pass and asks for it again at the same step
(Workspace._training_config).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bpviz.engine.optim import Optimizer, make_optimizer

NAMES = {"sgd": "SGD", "adam": "Adam"}


@dataclass(frozen=True)
class UpdateChoice:
    """The optimizer of a pass's update phase and its settings."""

    optimizer: str = "adam"  # "sgd" or "adam"
    lr: float = 0.01
    momentum: float = 0.0  # SGD only
    weight_decay: float = 0.0

    def make(self, network) -> Optimizer:
        """A fresh optimizer of `network` with these settings."""
        options = {"lr": self.lr, "weight_decay": self.weight_decay}
        if self.optimizer == "sgd":
            options["momentum"] = self.momentum
        return make_optimizer(self.optimizer, network, **options)

    def short_text(self) -> str:
        """"SGD · lr 0.05 · momentum 0.9"."""
        parts = [NAMES.get(self.optimizer, self.optimizer), f"lr {self.lr:g}"]
        if self.optimizer == "sgd" and self.momentum:
            parts.append(f"momentum {self.momentum:g}")
        if self.weight_decay:
            parts.append(f"weight decay {self.weight_decay:g}")
        return " · ".join(parts)

    def first_state(self) -> str:
        """What a first step starts from."""
        if self.optimizer == "sgd" and self.momentum:
            return "no velocity yet: v = ∂L/∂θ"
        return "m = v = 0, t = 1" if self.optimizer == "adam" else "no state"


def continues(choice: UpdateChoice, source) -> bool:
    """Whether the update continues the optimizer state held with `source` (a
    WeightSource, or None): trained weights, trained with the same optimizer."""
    return (source is not None and bool(getattr(source, "optimizer_state", None))
            and getattr(source, "optimizer", "") == choice.optimizer)


def describe(choice: UpdateChoice, source) -> str:
    """Where the settings come from and what state the step starts from."""
    text = f"{choice.short_text()}, as chosen in the Training panel; "
    if continues(choice, source):
        return text + (f"the next step of the training run, from its optimizer state after "
                       f"{source.iterations} iterations")
    return text + f"a first step from the weights the pass shows ({choice.first_state()})"


def continue_run(optimizer: Optimizer, choice: UpdateChoice, source) -> bool:
    """Give `optimizer` the trained run's state when `continues` (in the network's
    dtype: the run may have trained in float32); True when it did."""
    if not continues(choice, source):
        return False
    state = {}
    for (node_id, name), slot in source.optimizer_state.items():
        node = optimizer.network.nodes.get(node_id)
        param = node.op.params.get(name) if node is not None else None
        if param is None:
            continue
        arrays = {key: value for key, value in slot.items() if isinstance(value, np.ndarray)}
        if any(value.shape != param.shape for value in arrays.values()):
            return False  # another graph: start afresh
        state[(node_id, name)] = {key: value.astype(param.dtype) if key in arrays else value
                                  for key, value in slot.items() if key != "shape"}
        state[(node_id, name)]["shape"] = (param.shape, param.dtype)
    optimizer.restore(state)
    return True


def choice_from(config) -> UpdateChoice:
    """The update the Training panel's `config` (a TrainConfig, or None) asks for."""
    if config is None:
        return UpdateChoice()
    optimizer = getattr(config, "optimizer", "adam")
    return UpdateChoice(optimizer, float(getattr(config, "lr", 0.01)),
                        float(getattr(config, "momentum", 0.0)) if optimizer == "sgd" else 0.0,
                        float(getattr(config, "weight_decay", 0.0)))
