"""Run › Show the Update Step, and a pass that comes back where it was.

UpdateStepSetting owns the checkable action (the workspace's step setting
`update`, on by default: a pass ends with one optimizer step per trainable
node, with the optimizer chosen in the Training panel, which the item names).
When only the update phase of a pass changes (the setting, or the Training
panel's optimizer, learning rate, momentum), the workspace drops the pass
with the position it was at (payload `resume`); this builds it again and
goes back to that step (the last one when the pass has become shorter), so
a lecturer trying another learning rate stays on the update step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction

from bpviz.ui.workspace_link import observe
from bpviz.workspace.update import choice_from, describe

if TYPE_CHECKING:
    from bpviz.ui.stepping.controller import StepController


class UpdateStepSetting(QObject):
    def __init__(self, controller: StepController) -> None:
        super().__init__(controller)
        self.controller = controller
        self.workspace = controller.workspace
        self.resume_at: int | None = None
        self.action = QAction("Show the &Update Step", controller.window)
        self.action.setObjectName("show_update_action")
        self.action.setCheckable(True)
        self.action.setChecked(self.workspace.settings.update)
        self.action.toggled.connect(self._toggled)
        observe(self.workspace, self, self._workspace_event)
        self.show_choice()

    def show_choice(self) -> None:
        """The menu item names the optimizer the update steps use, and says where
        it comes from and what state it starts from."""
        choice = choice_from(self.workspace.training.config)
        self.action.setText(f"Show the &Update Step ({choice.short_text()})")
        self.action.setStatusTip(f"end the pass with one optimizer step per trainable node: "
                                 f"{describe(choice, self.workspace.weights.in_use)}")

    def _toggled(self, on: bool) -> None:
        if self.workspace.settings.update != on:
            self.workspace.set_settings(update=on)

    def _workspace_event(self, event: str, payload: dict) -> None:
        if event in ("training_config", "weights_changed", "document_replaced"):
            self.show_choice()
        elif event == "settings_changed":
            if self.action.isChecked() != payload["settings"].update:
                self.action.setChecked(payload["settings"].update)
        elif event == "pass_dropped" and payload.get("resume", -1) >= 0:
            self.resume_at = payload["resume"]
            # NOTE: after every observer has heard of the drop, not in the middle of it.
            QTimer.singleShot(0, self._rebuild)
        elif event == "pass_dropped":
            self.resume_at = None
        elif event == "pass_built" and self.resume_at is not None:
            session = payload["built"].session
            position, self.resume_at = min(self.resume_at, len(session.steps) - 1), None
            self.workspace.seek(position)

    def _rebuild(self) -> None:
        if self.resume_at is not None and self.workspace.built is None:
            self.controller.request("build")
