"""The one topological walk: forward and backward, one Step per node.

A Network is a list of NodeSpecs (id, op, input ids). `Executor.forward`
visits nodes in topological order and `Executor.backward` in reverse; both
are generators, so a caller (the step-through view, the oracle, the trainer)
can stop after any node.

The loss L is the sum of the outputs of every loss node (ops with
`is_loss`). A graph without a loss node is treated as L = Σ of every element
of every sink's output, so every graph has well-defined gradients.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from bpviz.engine.op import Op
from bpviz.engine.scratch import keep_freed_memory


@dataclass
class NodeSpec:
    id: str
    op: Op
    inputs: list[str] = field(default_factory=list)


@dataclass
class Step:
    """What one node did in one phase.

    contributions: during backward, one (consumer id, port, ∂L/∂out through that
    consumer) per outgoing wire; grad_output is their sum. At a residual fork
    there are several; for a loss node there is one, ("L", 0, 1).
    grad_inputs: one gradient per graph input of the node, in input order.
    """

    phase: str  # "forward" or "backward"
    index: int  # 0-based position in this phase
    total: int  # number of steps in this phase
    node: str
    op: str
    inputs: tuple[np.ndarray, ...]
    output: np.ndarray
    formula: str
    target: np.ndarray | None = None
    grad_output: np.ndarray | None = None
    contributions: tuple[tuple[str, int, np.ndarray], ...] = ()
    grad_inputs: tuple[np.ndarray | None, ...] = ()
    grad_params: dict[str, np.ndarray] = field(default_factory=dict)


class GraphStructureError(ValueError):
    """The node list is not a DAG or names an unknown input."""


def topological_order(nodes: list[NodeSpec]) -> list[NodeSpec]:
    """Kahn's algorithm, stable: among ready nodes, the earlier in `nodes` first."""
    by_id = {node.id: node for node in nodes}
    indegree = {node.id: 0 for node in nodes}
    consumers: dict[str, list[str]] = {node.id: [] for node in nodes}
    for node in nodes:
        for source in node.inputs:
            if source not in by_id:
                raise GraphStructureError(
                    f"node '{node.id}' reads '{source}', which does not exist")
            indegree[node.id] += 1
            consumers[source].append(node.id)
    position = {node.id: i for i, node in enumerate(nodes)}
    ready = sorted((i for i, d in indegree.items() if d == 0), key=position.get)
    order: list[NodeSpec] = []
    while ready:
        current = ready.pop(0)
        order.append(by_id[current])
        for consumer in dict.fromkeys(consumers[current]):
            indegree[consumer] -= node_multiplicity(by_id[consumer], current)
            if indegree[consumer] == 0:
                ready.append(consumer)
                ready.sort(key=position.get)
    if len(order) != len(nodes):
        stuck = [node.id for node in nodes if indegree[node.id] > 0]
        raise GraphStructureError(f"the graph has a cycle through {', '.join(stuck)}")
    return order


def node_multiplicity(node: NodeSpec, source: str) -> int:
    return sum(1 for s in node.inputs if s == source)


class Network:
    """Nodes in topological order, with who consumes whom."""

    def __init__(self, nodes: list[NodeSpec]) -> None:
        self.order = topological_order(nodes)
        self.nodes = {node.id: node for node in self.order}
        self.consumers: dict[str, list[tuple[str, int]]] = {node.id: [] for node in self.order}
        for node in self.order:
            for port, source in enumerate(node.inputs):
                self.consumers[source].append((node.id, port))
        self.losses = [node.id for node in self.order if node.op.is_loss]
        self.inputs = [node.id for node in self.order if node.op.op_name == "input"]

    def set_training(self, training: bool) -> None:
        for node in self.order:
            node.op.training = training

    def astype(self, dtype: np.dtype) -> None:
        for node in self.order:
            node.op.astype(dtype)

    def parameters(self) -> dict[str, np.ndarray]:
        """Every parameter as '<node id>/<name>' → array (the arrays themselves)."""
        return {f"{node.id}/{name}": value
                for node in self.order for name, value in node.op.params.items()}


class Executor:
    """Runs a Network: values[id] is each node's output, grads[id] its ∂L/∂out.

    keep: None (the default) keeps every node's output and ∂L/∂out after the
    backward pass (a StepSession shows them all). A set of node ids keeps only
    theirs: each other node's output, ∂L/∂out and what its op cached are let go
    as soon as its backward step is done, since no later step reads them, so
    the peak of a training pass is the parameters, their gradients and the
    activations, not twice the activations. Without a backward pass (run's
    backward=False: an evaluation) they are let go during the forward pass.
    """

    def __init__(self, network: Network, keep: set[str] | None = None) -> None:
        _tune_memory_once()
        self.keep = keep
        self.network = network
        self.values: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.targets: dict[str, np.ndarray] = {}
        self.loss: float | None = None

    def forward(self, feeds: dict[str, np.ndarray],
                targets: dict[str, np.ndarray] | None = None) -> Iterator[Step]:
        """feeds: input node id → batch; targets: loss node id → labels/targets."""
        self._begin(targets)
        order = self.network.order
        total = len(order)
        for index, node in enumerate(order):
            args, output, target = self._forward_node(node, feeds)
            yield Step("forward", index, total, node.id, node.op.op_name, args,
                       output, node.op.formula, target=target)
        self.loss = self._total_loss()

    def _begin(self, targets: dict[str, np.ndarray] | None) -> None:
        self.values, self.grads = {}, {}
        self.targets = dict(targets or {})
        self.loss = None

    def _forward_node(self, node: NodeSpec, feeds: dict[str, np.ndarray]):
        """One node's forward pass: (its inputs, its output, its target or None)."""
        op, values = node.op, self.values
        args = tuple([values[source] for source in node.inputs])
        target = None
        if op.op_name == "input":
            if node.id not in feeds:
                raise KeyError(f"no data fed to input node '{node.id}'")
            output = op.forward(feeds[node.id])
        elif op.is_loss:
            if node.id not in self.targets:
                raise KeyError(f"no targets given for loss node '{node.id}'")
            target = self.targets[node.id]
            output = op.forward(*args, target)
        else:
            output = op.forward(*args)
        values[node.id] = output
        return args, output, target

    def _total_loss(self) -> float:
        if self.network.losses:
            return float(sum(np.sum(self.values[i]) for i in self.network.losses))
        return float(sum(np.sum(self.values[i]) for i in self._sinks()))

    def _sinks(self) -> list[str]:
        return [i for i, used in self.network.consumers.items() if not used]

    def backward(self, seeds: dict[str, np.ndarray] | None = None) -> Iterator[Step]:
        """Reverse topological order; needs a completed forward pass.

        seeds: ∂L/∂(output) for chosen nodes instead of the loss, e.g. a one-hot
        array at one unit to get ∂unit/∂input (effective receptive fields).
        """
        incoming = self._incoming(seeds)
        order = self.network.order[::-1]
        total, values = len(order), self.values
        for index, node in enumerate(order):
            contributions, grad_output, grad_inputs = self._backward_node(node, incoming)
            yield Step("backward", index, total, node.id, node.op.op_name,
                       tuple([values[s] for s in node.inputs]), values[node.id],
                       node.op.formula, target=self.targets.get(node.id),
                       grad_output=grad_output, contributions=contributions,
                       grad_inputs=tuple(grad_inputs), grad_params=dict(node.op.grads))
            self._let_go(node, incoming)

    def _incoming(self, seeds: dict[str, np.ndarray] | None
                  ) -> dict[str, list[tuple[str, int, np.ndarray]]]:
        """Each node's incoming gradients, starting with the seeds (∂L/∂L = 1 by default)."""
        if self.loss is None:
            raise RuntimeError("backward needs a completed forward pass")
        if seeds is None:
            seeds = {i: np.ones_like(self.values[i]) for i in self.network.losses or self._sinks()}
        incoming: dict[str, list[tuple[str, int, np.ndarray]]] = {i: [] for i in self.network.nodes}
        for node_id, seed in seeds.items():
            incoming[node_id].append(("L", 0, seed))
        return incoming

    def _backward_node(self, node: NodeSpec, incoming: dict[str, list]):
        """One node's backward pass: (contributions, ∂L/∂out, ∂L/∂inputs).

        Passes ∂L/∂input on to each input's list in `incoming`.
        """
        contributions = tuple(incoming[node.id])
        grad_output = _sum_contributions(contributions, self.values[node.id])
        self.grads[node.id] = grad_output
        op, inputs = node.op, node.inputs
        op.grads = {}
        grad_inputs = op.backward(grad_output) if inputs else ()
        for port, (source, grad) in enumerate(zip(inputs, grad_inputs)):
            if grad is not None:
                incoming[source].append((node.id, port, grad))
        return contributions, grad_output, grad_inputs

    def run(self, feeds: dict[str, np.ndarray],
            targets: dict[str, np.ndarray] | None = None, backward: bool = True) -> float:
        """A whole forward (and backward) pass; returns L.

        The same walk as `forward` and `backward`, node by node, without making Steps.
        """
        self._begin(targets)
        order = self.network.order
        if not backward and self.keep is not None:
            self._forward_letting_go(feeds)
            return float(self.loss)
        for node in order:
            self._forward_node(node, feeds)
        self.loss = self._total_loss()
        if backward:
            incoming = self._incoming(None)
            for node in reversed(order):
                self._backward_node(node, incoming)
                self._let_go(node, incoming)
        return float(self.loss)

    def _forward_letting_go(self, feeds: dict[str, np.ndarray]) -> None:
        """A forward pass that no backward follows (an evaluation): each op's cache is
        let go as soon as it is made, each output once its last consumer has read it
        (unless kept), so the peak is the few outputs alive at once, not all of them."""
        unread = {node_id: len(used) for node_id, used in self.network.consumers.items()}
        for node in self.network.order:
            self._forward_node(node, feeds)
            node.op.release()
            for source in node.inputs:
                unread[source] -= 1
                if unread[source] == 0 and source not in self.keep:
                    self.values.pop(source, None)
        self.loss = self._total_loss()

    def _let_go(self, node: NodeSpec, incoming: dict[str, list]) -> None:
        """After node's backward step: free what no later step reads (unless kept)."""
        if self.keep is None:
            return
        incoming[node.id] = []
        if node.id not in self.keep:
            self.values.pop(node.id, None)
            self.grads.pop(node.id, None)
        node.op.release()


_memory_tuned = False


def _tune_memory_once() -> None:
    """Fresh arrays come from reused heap memory rather than new mappings (glibc only)."""
    global _memory_tuned
    if not _memory_tuned:
        _memory_tuned = True
        keep_freed_memory()


def _sum_contributions(contributions, value: np.ndarray) -> np.ndarray:
    # NOTE: a node that feeds several consumers (a residual fork) gets the sum
    # of their gradients: the multivariate chain rule, micrograd's `+=`.
    if not contributions:
        return np.zeros_like(value)
    if len(contributions) == 1:
        return contributions[0][2]
    first = contributions[0][2]
    total = np.add(first, contributions[1][2], dtype=first.dtype)  # a fresh array, one pass
    for _, _, grad in contributions[2:]:
        total += grad
    return total
