"""An op's torch counterpart, and the registry the oracle reads it from.

One TorchRule per op, registered with `@torch_rule("<op name>")` beside the
rules of the op's family (bpviz.oracle.rules.<family>), says everything torch
knows about the op:

* `forward(xs, params, buffers, hp, op)`: the functional forward that
  `bpviz check` runs (bpviz.oracle.torch_graph), written from torch's
  documentation and independent of the engine's NumPy code. xs are the node's
  input tensors in input order (a loss gets its target appended), params and
  buffers torch tensors keyed like `op.params` and `op.buffers`, hp is `op.hp`
  with the defaults filled, and op the engine's op itself (read for
  `op.training` and, for dropout, the mask the engine drew);
* `module(params, in_shape)`: the nn constructor `bpviz export-torch` writes
  for a node (params as the graph file writes them), or None when forward
  writes `expression(args)` instead; `loss_code` for a loss;
* `by_channel`: True when output channel c (axis 1) reads row c of every
  parameter and no other entry of them (dense, conv2d), so that torch can
  make ∂L/∂θ a block of rows at a time: the rule's forward run on those
  rows of the parameters gives those channels (bpviz.oracle.torch_run);
* `modules`, `functions` and `methods`: the nn module classes, functions and
  tensor methods `bpviz import-torch` turns into this op, each with the
  handler that adds the node (bpviz.oracle.import_rules describes handlers),
  and `supported`, how the import command's help lists them (modules, then
  calls in forward).

The engine never imports this package: the oracle imports the engine and
registers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar

import torch

from bpviz.engine.op import non_default

Tensor = torch.Tensor
Handler = Callable[..., Any]
NONE: Mapping = MappingProxyType({})


class OracleError(ValueError):
    """The network cannot be rebuilt in torch (an op without a torch reference)."""


class TorchRule:
    """The torch counterpart of one op; subclasses implement forward."""

    op_name: ClassVar[str] = ""
    modules: ClassVar[Mapping[type, Handler]] = NONE
    functions: ClassVar[Mapping[Any, Handler]] = NONE
    methods: ClassVar[Mapping[str, Handler]] = NONE
    # What import-torch reads, for its help: (modules, calls in forward), e.g.
    # ("nn.ReLU", "torch.relu, F.relu"); "" where there are none.
    supported: ClassVar[tuple[str, str]] = ("", "")
    by_channel: ClassVar[bool] = False  # output channel c reads only row c of each parameter

    def forward(self, xs: list[Tensor], params: dict[str, Tensor], buffers: dict[str, Tensor],
                hp: dict[str, Any], op: Any) -> Tensor:
        raise NotImplementedError

    def module(self, params: dict[str, Any], in_shape: tuple[int, ...]) -> str | None:
        """`nn.X(...)` for the exported module's __init__, or None for an expression."""
        return None

    def expression(self, args: list[str]) -> str | None:
        """The exported forward's expression of the node's inputs, when it has no module."""
        return None

    def loss_code(self, prediction: str, target: str, reduction: str) -> str:
        """The exported loss method's call for a loss op."""
        raise NotImplementedError(f"{self.op_name} is not a loss")


RULES: dict[str, TorchRule] = {}


def torch_rule(op_name: str) -> Callable[[type[TorchRule]], type[TorchRule]]:
    """Class decorator: register the class's instance as the torch rule of `op_name`."""

    def register(cls: type[TorchRule]) -> type[TorchRule]:
        cls.op_name = op_name
        RULES[op_name] = cls()
        return cls

    return register


def changed(op_name: str, params: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    """The parameters among `names` that differ from the op's defaults, in `names`' order."""
    differ = non_default(op_name, params)
    return {name: differ[name] for name in names if differ.get(name) is not None}


def call(cls: str, positional: list[Any], keywords: dict[str, Any]) -> str:
    """`nn.cls(p1, p2, k=v)`, pairs written as tuples."""
    args = [str(v) for v in positional] + [f"{k}={literal(v)}" for k, v in keywords.items()]
    return f"nn.{cls}({', '.join(args)})"


def literal(value: Any) -> str:
    return f"({value[0]}, {value[1]})" if isinstance(value, list) else repr(value)
