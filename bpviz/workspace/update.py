"""The update step of a pass: which optimizer it shows, chosen in the Training panel.

A pass with the update phase on (StepSettings.update) ends, after its
backward steps, with one optimizer step per trainable node
(bpviz.engine.updating). The optimizer and its settings are the ones chosen
for the next training run (`Training.config`: SGD or Adam, learning rate,
SGD's momentum, weight decay where the config has one); before the panel has
said anything, `bpviz train`'s defaults for Adam (lr 0.01). The step is a
first step: the optimizer starts with no state (SGD's velocity v = ∂L/∂θ,
Adam's t = 1), and `UpdateChoice.text` says so.

A change of these settings changes what the update phase shows: the
workspace drops the pass and asks for it again at the same step
(Workspace._training_config).
"""

from __future__ import annotations

from dataclasses import dataclass

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

    def text(self) -> str:
        """Where the settings come from and what state the step starts from."""
        state = ("no velocity yet: v = ∂L/∂θ" if self.optimizer == "sgd" and self.momentum
                 else "m = v = 0, t = 1" if self.optimizer == "adam" else "no state")
        return (f"{self.short_text()}, as chosen in the Training panel; "
                f"a first step from the weights the pass shows ({state})")


def choice_from(config) -> UpdateChoice:
    """The update the Training panel's `config` (a TrainConfig, or None) asks for."""
    if config is None:
        return UpdateChoice()
    optimizer = getattr(config, "optimizer", "adam")
    return UpdateChoice(optimizer, float(getattr(config, "lr", 0.01)),
                        float(getattr(config, "momentum", 0.0)) if optimizer == "sgd" else 0.0,
                        float(getattr(config, "weight_decay", 0.0)))
