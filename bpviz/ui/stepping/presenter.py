"""Show one position of a pass everywhere at once: canvas, tensors, formula, motion.

StepPresenter.show(built) draws the session's current step on the scene
(scene.show_step), hands the Step to the TensorView and the FormulaPanel,
brings the current node into view (and selects it, so the inspector shows
it) when following, and sends dots along the wires the step used: into the
node during forward, back out of it to its inputs during backward.
"""

from __future__ import annotations

from bpviz.ui.stepping import FormulaPanel, TensorView
from bpviz.ui.stepping.data_views import class_labels, dataset_names, random_samples
from bpviz.ui.stepping.pulse import Pulses
from bpviz.workspace.passes import Built


class StepPresenter:
    def __init__(self, view, tensors: TensorView, formula: FormulaPanel,
                 pulses: Pulses) -> None:
        self.view = view
        self.scene = view.graph_scene
        self.tensors = tensors
        self.formula = formula
        self.pulses = pulses
        self.follow = True
        self.last_state: tuple | None = None

    def clear(self) -> None:
        self.pulses.stop()
        self.scene.clear_step()
        self.tensors.set_step(None)
        self.tensors.set_summaries(None)
        self.formula.set_step(None)
        self.last_state = None

    def show(self, built: Built | None, steps_per_second: float | None = None) -> None:
        if built is None:
            self.clear()
            return
        session = built.session
        step = session.current
        phase = step.phase if step is not None else None
        self.scene.show_step(session.active_node, session.wire_gradient_norms(),
                             session.done_nodes(), phase, built.span)
        names = dataset_names(built)
        self.tensors.set_labels(class_labels(session, names), names, random_samples(built))
        self.tensors.set_summaries(built.summaries)
        self.tensors.set_step(step, session.network)
        self.formula.set_step(step, session.network)
        self.last_state = session.state()
        if step is None:
            self.pulses.stop()
            return
        if self.follow:
            self._follow(step.node)
        wires = [wire for (dst, _port), wire in self.scene.wires.items()
                 if dst == step.node and wire.isVisible()]  # none inside a folded group
        self.pulses.run(wires, step.phase == "backward", steps_per_second)

    def _follow(self, node_id: str) -> None:
        """Select the current node and scroll it into sight when it is not: the
        least scroll, so a view that already shows it (a fitted one) stays put."""
        if node_id not in self.scene.nodes:
            return
        self.scene.model.set_selection([node_id])
        self.view.bring_into_view(node_id)
