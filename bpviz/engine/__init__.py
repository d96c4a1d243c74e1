"""The NumPy backprop engine: ops, the executor, initialisation, receptive fields.

Knows nothing of Qt, torch or files.
"""

from bpviz.engine import ops  # noqa: F401  (registers every op)
from bpviz.engine.executor import Executor, Network, NodeSpec, Step
from bpviz.engine.op import OPS, Hyper, HyperError, Op, ShapeError

__all__ = ["OPS", "Executor", "Hyper", "HyperError", "Network", "NodeSpec", "Op",
           "ShapeError", "Step"]
