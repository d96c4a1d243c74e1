"""What the torch importer's pieces share: the error, traced values and the building context.

While an fx graph is converted, every fx node's value is one of:

* a TensorValue: the bpviz node that holds the tensor, and the tensor's
  per-sample shape as torch sees it (the same as the bpviz node's shape except
  after a global pooling that keeps its 1×1 axes, where torch has [C, 1, 1]
  and bpviz [C]);
* BATCH, the batch size, which is unknown when tracing (`x.size(0)`);
* a plain Python value (an int, a tuple of sizes, a constant argument).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from bpviz.engine import OPS, HyperError, ShapeError
from bpviz.graph.document import MAX_ID_LENGTH, GraphDocument, NodeData

Shape = tuple[int, ...]


class InteropError(ValueError):
    """A model or graph cannot be carried between torch and bpviz; the message says why."""


class _Batch:
    def __repr__(self) -> str:
        return "N"


BATCH = _Batch()
"""The batch size: the first axis of every traced tensor, unknown while tracing."""


@dataclass(frozen=True)
class TensorValue:
    node: str
    shape: Shape  # per sample, as torch sees it


_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)\n\s*(.*)')


def source_line(stack_trace: str | None) -> str | None:
    """'file:line: code' of the last frame outside torch in an fx node's stack trace."""
    frames = [m for m in _FRAME.finditer(stack_trace or "")
              if "/torch/" not in m.group(1).replace("\\", "/")]
    if not frames:
        return None
    path, line, _, code = frames[-1].groups()
    return f"{path}:{line}: {code.strip()}"


def sanitise_id(text: str) -> str:
    """A node id from an fx name or module path: letters, digits and '_' only."""
    cleaned = re.sub(r"[^0-9A-Za-z_]", "_", str(text)).strip("_") or "node"
    return cleaned[:MAX_ID_LENGTH]


class Context:
    """The bpviz document being built from one traced torch module."""

    def __init__(self, root: Any, name: str, description: str) -> None:
        self.root = root
        self.doc = GraphDocument(name, description=description)
        self.shapes: dict[str, Shape] = {}
        self.weights: dict[str, np.ndarray] = {}
        self.fx_node: Any = None  # the fx node being converted, for messages
        self.origin: dict[str, Any] = {}  # bpviz id → the fx node it was made from

    # -- messages -------------------------------------------------------
    def where(self) -> str:
        """The current fx node, its module and its source line, as far as known."""
        node = self.fx_node
        if node is None:
            return ""
        parts = [f"fx node '{node.name}'"]
        stack = node.meta.get("nn_module_stack") or {}
        if node.op != "call_module" and stack:
            path, (_, cls) = list(stack.items())[-1]
            parts.append(f"inside module '{path}' ({getattr(cls, '__name__', cls)})")
        line = source_line(getattr(node, "stack_trace", None))
        if line:
            parts.append(f"at {line}")
        return ", ".join(parts)

    def fail(self, message: str, hint: str = "") -> InteropError:
        """The error to raise: the message, where it happened, then the hint."""
        where = self.where()
        text = f"{message} ({where})" if where else message
        return InteropError(f"{text}. {hint}" if hint else text)

    # -- values ---------------------------------------------------------
    def tensor(self, value: Any, what: str = "its input") -> TensorValue:
        """`value` as a tensor whose torch and bpviz shapes agree."""
        if not isinstance(value, TensorValue):
            raise self.fail(f"{what} must be a tensor computed from the model's input, "
                            f"got {value!r}")
        if value.shape != self.shapes[value.node]:
            raise self.fail(f"{what} is the [N, {', '.join(map(str, value.shape))}] output of "
                            f"a global average pooling: only a flatten (or view/reshape to "
                            f"[N, -1]) may follow it")
        return value

    def bpviz_shape(self, value: TensorValue) -> Shape:
        return self.shapes[value.node]

    # -- nodes ----------------------------------------------------------
    def new_id(self, base: str) -> str:
        base = sanitise_id(base)
        candidate, count = base, 0
        while candidate in self.doc.nodes:
            count += 1
            suffix = f"_{count}"
            candidate = base[:MAX_ID_LENGTH - len(suffix)] + suffix
        return candidate

    def add(self, op: str, inputs: list[TensorValue], params: dict[str, Any] | None = None,
            tensors: dict[str, Any] | None = None, trainable: bool = True,
            torch_shape: Shape | None = None) -> TensorValue:
        """Add a node for the current fx node; returns its output value."""
        params = dict(params or {})
        in_shapes = [self.shapes[value.node] for value in inputs]
        try:
            shape = tuple(int(d) for d in OPS[op](**params).infer_shape(in_shapes))
        except (HyperError, ShapeError) as error:
            raise self.fail(f"{op} cannot take this: {error}") from None
        node = self.fx_node
        node_id = self.new_id(node.target if node.op == "call_module" else node.name)
        self.doc.nodes[node_id] = NodeData(node_id, op, [v.node for v in inputs], params,
                                           trainable)
        self.shapes[node_id] = shape
        self.origin[node_id] = node
        for key, tensor in (tensors or {}).items():
            if tensor is not None:
                array = tensor.detach().cpu().double().numpy()
                self.weights[f"{node_id}/{key}"] = np.array(array, dtype=np.float64)
        return TensorValue(node_id, shape if torch_shape is None else tuple(torch_shape))

    def numel(self, value: TensorValue) -> int:
        return math.prod(value.shape)
