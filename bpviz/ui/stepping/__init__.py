"""Step through backprop: the toolbar, the tensors, the formula and receptive fields.

Each widget is standalone and fed from a StepSession (bpviz.engine.stepping):
StepBar moves the session and emits position_changed; the others are handed
`session.current` (a Step) and the network.
"""

from bpviz.ui.stepping.formula_panel import FormulaPanel
from bpviz.ui.stepping.receptive_view import ReceptiveFieldView
from bpviz.ui.stepping.step_bar import StepBar
from bpviz.ui.stepping.tensor_view import TensorView

__all__ = ["FormulaPanel", "ReceptiveFieldView", "StepBar", "TensorView"]
