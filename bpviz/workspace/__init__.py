"""The workspace: what a run of the document has, observed by the window's panels.

No Qt, no torch: the window (bpviz.ui), headless commands and tests drive
the same Workspace (workspace.py) and observe its events. It holds the pass
and its step position (passes.py, sources.py), the weights held besides the
seed's (weights.py), and the training run's settings, state and metrics
(training.py, metrics.py, trained.py).
"""

from bpviz.workspace.workspace import StepSettings, Workspace

__all__ = ["StepSettings", "Workspace"]
