"""Check the engine against torch autograd: the only package that imports torch.

Importing bpviz.oracle is cheap; torch is loaded the first time one of the
names below is used (bpviz.oracle.compare and bpviz.oracle.torch_graph
import it at their top).
"""

from __future__ import annotations

from typing import Any

__all__ = ["Comparison", "NodeComparison", "OracleError", "compare_network",
           "default_tolerance"]

_HOMES = {"Comparison": "compare", "NodeComparison": "compare", "compare_network": "compare",
          "default_tolerance": "compare", "OracleError": "torch_graph"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bpviz.oracle' has no attribute '{name}'")
    from importlib import import_module

    return getattr(import_module(f"bpviz.oracle.{_HOMES[name]}"), name)
