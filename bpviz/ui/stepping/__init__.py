"""Step through backprop: the step bar, the tensors, the formula and receptive fields,
and the controller that puts them in the main window.

Each widget is standalone and fed from a StepSession (bpviz.engine.stepping):
StepBar moves the session and emits position_changed; the others are handed
`session.current` (a Step) and the network. StepController (controller.py)
shows the workspace's pass (bpviz.workspace) with them: the Run menu, the
window's step bar, the docks, the canvas (StepPresenter, presenter.py) and
the torch check (torch_check.py).
"""

from bpviz.ui.stepping.formula_panel import FormulaPanel
from bpviz.ui.stepping.receptive_view import ReceptiveFieldView
from bpviz.ui.stepping.step_bar import StepBar
from bpviz.ui.stepping.tensor_view import TensorView

__all__ = ["FormulaPanel", "ReceptiveFieldView", "StepBar", "TensorView"]
