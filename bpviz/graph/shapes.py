"""Shape inference and validation of a GraphDocument against the op registry.

`infer_shapes` never raises for a problem in the graph: it reports one message
per bad node, so the editor can paint that node red and keep working. Nodes
downstream of a bad node get shape None without an error of their own.
`validate` raises a GraphError for the first problem: a missing input node,
then per-node rules in file order (known op, parameters, number of inputs,
inputs that exist), then cycles, then shapes in topological order, then the
memory limit.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from bpviz.engine import OPS, HyperError, Op, ShapeError
from bpviz.engine.op import SAME_AS_INPUT, check_hypers
from bpviz.graph import limits
from bpviz.graph.document import GraphDocument, GraphError, NodeData, cycle_message

Shape = tuple[int, ...]


@dataclass
class ShapeReport:
    """shapes: per-sample output shape (no batch axis) or None when unknown.

    errors: one full message per bad node. param_counts: values in trainable
    tensors (what torch's parameters() counts; frozen nodes included).
    buffer_counts: values in non-trainable state such as running statistics.
    order: the ids that could be ordered topologically (nodes in a cycle are
    left out). ranges: the closed interval every output value lies in, from the
    ops' `output_range`; None when unknown (data, or a node with a problem).
    """

    shapes: dict[str, Shape | None] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    param_counts: dict[str, int] = field(default_factory=dict)
    buffer_counts: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    ranges: dict[str, tuple[float, float] | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def label(node: NodeData) -> str:
    return f"{node.op} '{node.id}'"


def unknown_op_message(node: NodeData) -> str:
    text = f"node '{node.id}': unknown op {node.op!r}"
    close = difflib.get_close_matches(str(node.op), sorted(OPS), n=1)
    if close:
        return f"{text} (did you mean '{close[0]}'?)"
    return f"{text} (known ops: {', '.join(sorted(OPS))})"


def input_count_message(cls: type[Op], node: NodeData) -> str | None:
    count, low, high = len(node.inputs), cls.min_inputs, cls.max_inputs

    def plural(n: int) -> str:
        return f"{n} input" + ("" if n == 1 else "s")

    if high == 0 and count:
        return f"{label(node)} takes no inputs, got {count}"
    if low == high and count != low:
        return f"{label(node)} needs exactly {plural(low)}, got {count}"
    if count < low:
        return f"{label(node)} needs at least {plural(low)}, got {count}"
    if high is not None and count > high:
        return f"{label(node)} takes at most {plural(high)}, got {count}"
    return None


def make_op(node: NodeData) -> tuple[Op | None, str | None]:
    """The node's op instance, or the message saying why there is none."""
    cls = OPS.get(node.op) if isinstance(node.op, str) else None
    if cls is None:
        return None, unknown_op_message(node)
    params = node.params
    if not isinstance(params, dict) or not all(isinstance(key, str) for key in params):
        return None, f"{label(node)}: params must map parameter names to values"
    try:
        check_hypers(cls, params)
        op = cls(**params)
    except HyperError as exc:
        return None, f"{label(node)}: {exc}"
    except (TypeError, ValueError, ArithmeticError) as exc:
        return None, f"{label(node)}: invalid parameters ({exc})"
    return op, None


def node_problem(doc: GraphDocument, node: NodeData) -> tuple[Op | None, str | None]:
    """Per-node rules that need no shapes: op, parameters, inputs."""
    op, problem = make_op(node)
    if op is None:
        return None, problem
    problem = input_count_message(type(op), node)
    if problem:
        return None, problem
    for port, src in enumerate(node.inputs):
        if src not in doc.nodes:
            text = f"{label(node)}: input {port} refers to '{src}', which is not a node"
            close = difflib.get_close_matches(str(src), list(doc.nodes), n=1)
            return None, text + (f" (did you mean '{close[0]}'?)" if close else "")
    return op, None


def cycle_members(doc: GraphDocument, graph: nx.DiGraph) -> dict[str, str]:
    """id → cycle message for every node that lies on a cycle."""
    members: dict[str, str] = {}
    for component in nx.strongly_connected_components(graph):
        first = next(iter(component))
        if len(component) == 1 and not graph.has_edge(first, first):
            continue
        edges = nx.find_cycle(graph.subgraph(component), source=first)
        message = cycle_message(doc.rotated([edge[0] for edge in edges]))
        members.update({node_id: message for node_id in component})
    return members


def _output_shape(op: Op, node: NodeData, in_shapes: list[Shape]) -> Shape:
    """op.infer_shape with the result checked; raises ShapeError with the node label."""
    try:
        shape = op.infer_shape(list(in_shapes))
        shape = tuple(int(d) for d in shape)
    except ShapeError as exc:
        raise ShapeError(f"{label(node)}: {exc}") from None
    except (TypeError, ValueError, ArithmeticError, IndexError) as exc:
        raise ShapeError(f"{label(node)}: cannot infer the output shape ({exc})") from None
    if any(d < 1 for d in shape):
        raise ShapeError(f"{label(node)}: the output shape {list(shape)} has an empty axis")
    if limits.numel(shape) > limits.MAX_ELEMENTS:
        raise ShapeError(f"{label(node)}: the output has {limits.numel(shape):,} values per "
                         f"sample, far beyond the memory limit")
    return shape


def _tensor_counts(op: Op, node: NodeData, in_shapes: list[Shape]) -> tuple[int, int]:
    try:
        params = op.param_shapes(list(in_shapes))
        buffers = op.buffer_shapes(list(in_shapes))
        return (sum(limits.numel(s) for s in params.values()),
                sum(limits.numel(s) for s in buffers.values()))
    except (ShapeError, TypeError, ValueError, ArithmeticError, IndexError) as exc:
        raise ShapeError(f"{label(node)}: cannot size the parameters ({exc})") from None


def infer_shapes(doc: GraphDocument) -> ShapeReport:
    """Per-node output shapes and errors; never raises for a problem in the graph."""
    report = ShapeReport()
    graph = doc.to_networkx()
    in_cycle = cycle_members(doc, graph)
    report.errors.update(in_cycle)
    position = {node_id: i for i, node_id in enumerate(doc.nodes)}
    acyclic = graph.subgraph(node_id for node_id in graph if node_id not in in_cycle)
    report.order = list(nx.lexicographical_topological_sort(acyclic, key=position.get))
    report.shapes = dict.fromkeys(doc.nodes)
    report.param_counts = dict.fromkeys(doc.nodes, 0)
    report.buffer_counts = dict.fromkeys(doc.nodes, 0)
    for node_id in report.order:
        _infer_node(doc, doc.nodes[node_id], report)
    return report


def _infer_node(doc: GraphDocument, node: NodeData, report: ShapeReport) -> None:
    op, problem = node_problem(doc, node)
    if op is None:
        report.errors[node.id] = problem or "invalid node"
        return
    in_shapes = [report.shapes[src] for src in node.inputs]
    if any(shape is None for shape in in_shapes):
        return  # downstream of a problem reported elsewhere
    try:
        report.shapes[node.id] = _output_shape(op, node, in_shapes)
        counts = _tensor_counts(op, node, in_shapes)
    except ShapeError as exc:
        report.shapes[node.id] = None
        report.errors[node.id] = str(exc)
        return
    report.param_counts[node.id], report.buffer_counts[node.id] = counts
    in_ranges = [report.ranges.get(src) for src in node.inputs]
    report.ranges[node.id] = output_range(op, in_ranges)
    problem = range_problem(doc, op, node, in_ranges)
    if problem:
        report.errors[node.id] = problem


def output_range(op: Op, in_ranges: list) -> tuple[float, float] | None:
    """The interval `op`'s output lies in, given its inputs' (None: unknown)."""
    declared = type(op).output_range
    if declared != SAME_AS_INPUT:
        return declared
    if not in_ranges or any(interval is None for interval in in_ranges):
        return None
    return (min(low for low, _ in in_ranges), max(high for _, high in in_ranges))


def range_text(interval: tuple[float, float]) -> str:
    low, high = interval
    if math.isinf(low) and math.isinf(high):
        return "any real number"
    return f"values in [{low:g}, {high:g}]".replace("inf", "∞")


def range_problem(doc: GraphDocument, op: Op, node: NodeData, in_ranges: list) -> str | None:
    """The message when the first input's values cannot lie where the op needs them."""
    needed = type(op).input_range
    given = in_ranges[0] if in_ranges else None
    if needed is None or given is None or (needed[0] <= given[0] and given[1] <= needed[1]):
        return None
    source = doc.nodes[node.inputs[0]]
    return (f"{label(node)} needs values in [{needed[0]:g}, {needed[1]:g}], but "
            f"{label(source)} gives {range_text(given)}: put a sigmoid (or softmax) "
            f"before it, or use bce_with_logits on the scores")


def structural_problem(doc: GraphDocument) -> GraphError | None:
    """The first problem that needs no shapes, or None."""
    if len(doc.nodes) > limits.MAX_NODES:
        return GraphError(f"the graph has {len(doc.nodes)} nodes; the limit is "
                          f"{limits.MAX_NODES}")
    families = [OPS[node.op].family for node in doc.nodes.values()
                if isinstance(node.op, str) and node.op in OPS]
    if "input" not in families:
        return GraphError("the graph has no input node: add a node with op 'input' "
                          "whose shape is one sample's shape")
    for node in doc.nodes.values():
        _, problem = node_problem(doc, node)
        if problem:
            return GraphError(problem, node.id)
    cycle = doc.find_cycle()
    if cycle:
        return GraphError(cycle_message(cycle), cycle[0])
    return None


def validate(doc: GraphDocument, dtype=np.float64) -> ShapeReport:
    """The ShapeReport of a sound graph; otherwise GraphError for the first problem."""
    problem = structural_problem(doc)
    if problem:
        raise problem
    report = infer_shapes(doc)
    for node_id in report.order:
        if node_id in report.errors:
            raise GraphError(report.errors[node_id], node_id)
    limits.check_memory(doc, report, dtype)
    return report


def estimate_bytes(doc: GraphDocument, dtype=np.float64) -> int:
    """Bytes of parameters, buffers and activations of every node for ONE sample.

    Nodes whose shapes cannot be inferred count as zero.
    """
    return limits.report_bytes(infer_shapes(doc), dtype)
