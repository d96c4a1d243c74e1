"""Every number explained: one entry of one tensor of a pass, as the lecture's sum.

An Explanation is the formula of one entry instantiated at its index, as a
sum of terms; each term is a coefficient times a product of factors; each
factor is either an entry of a tensor of the same pass (named by its key, in
the npz export's naming, and its index) or a labelled constant (1/N, a
batchnorm's 1/√(σ²+ε), the local derivative 1[z > 0], …). The terms add up
to the entry.

Keys (as `bpviz export --to out.npz`, batch axis first where there is one):

    <node>/out            the node's output                 [N, …]
    <node>/grad_out       ∂L/∂(output), summed over consumers [N, …]
    <node>/grad_in/<k>    ∂L/∂(input k) the node sends back  [N, …]
    <node>/param/<p>      a parameter (torch layout)
    <node>/grad/<p>       ∂L/∂(parameter), summed over the batch
    <loss>/target         a loss node's target y

Who explains what. The graph explains what no single op computes: an input's
output (data), a parameter (a leaf), a target (data) and ∂L/∂out (the sum of
what each consumer sends back: at a fork the chain rule adds the paths). Every
other entry is explained by the node's own op, beside its forward and
backward: `Op.explain(tensor, at, ctx)` with `tensor` one of "out",
"grad_in/<k>" or "grad/<p>" and `ctx` an OpPass, which hands the op the
tensors of its node in this pass and makes factors that name them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bpviz.engine.executor import Network, Step
    from bpviz.engine.stepping import StepSession

Index = tuple[int, ...]


class ExplainError(ValueError):
    """An unknown node or tensor key, or an index outside the tensor."""


# -- the data ----------------------------------------------------------------------
@dataclass(frozen=True)
class Factor:
    """An entry of a pass tensor (key and at set) or a labelled constant (both None)."""

    label: str  # "U[0,1,3,4]", "∂L/∂Z[0,2,1,1]", "1/N", "1[z > 0]"
    value: float
    key: str | None = None
    at: Index | None = None

    def as_json(self) -> dict:
        return {"label": self.label, "key": self.key,
                "at": None if self.at is None else list(self.at), "value": self.value}


@dataclass(frozen=True)
class Term:
    """coefficient × Π factors."""

    coefficient: float
    factors: tuple[Factor, ...]

    @property
    def value(self) -> float:
        return self.coefficient * math.prod(f.value for f in self.factors)

    def as_json(self) -> dict:
        return {"coefficient": self.coefficient,
                "factors": [factor.as_json() for factor in self.factors]}


@dataclass(frozen=True)
class Explained:
    """What an op returns: the symbolic formula at this index and its terms."""

    formula: str
    terms: tuple[Term, ...]
    note: str = ""  # one line of context ("tap (2, 0) lands in the padding: not a term")


@dataclass(frozen=True)
class Explanation:
    node: str
    tensor: str  # the key without the node: "out", "grad_in/0", "grad/weight", …
    at: Index
    value: float  # the entry itself, as the pass computed it
    formula: str
    terms: tuple[Term, ...]
    note: str = ""
    key: str = field(default="")

    @property
    def sum(self) -> float:
        return math.fsum(term.value for term in self.terms)

    def factor_keys(self) -> set[str]:
        """The pass tensors this entry reads."""
        return {f.key for term in self.terms for f in term.factors if f.key is not None}

    def as_json(self) -> dict:
        """The `bpviz explain --json` document: every term, no truncation."""
        return {"node": self.node, "tensor": self.tensor, "at": list(self.at),
                "value": self.value, "formula": self.formula,
                "terms": [term.as_json() for term in self.terms],
                "terms_total": len(self.terms), "sum": self.sum}


# -- what an op sees ---------------------------------------------------------------
def index_text(at: Index) -> str:
    return "[" + ",".join(str(int(i)) for i in at) + "]"


class OpPass:
    """One node's tensors in one pass, and factors that name them.

    The arrays are the pass's own (batch axis first). `symbols` are the
    lecture's names for the node's input and output (U and Z for a conv,
    u and z for a dense layer …); labels are written with them.
    """

    def __init__(self, node: str, sources: list[str], forward: Step, backward: Step | None,
                 params: dict[str, np.ndarray], symbols: tuple[str, str],
                 param_symbols: dict[str, str], loss: str = "L") -> None:
        self.node, self.sources = node, list(sources)
        self.inputs = forward.inputs
        self.output = forward.output
        self.target = forward.target
        self.grad_output = None if backward is None else backward.grad_output
        self.grad_inputs = () if backward is None else backward.grad_inputs
        self.grads = {} if backward is None else backward.grad_params
        self.params = params
        self.x_symbol, self.y_symbol = symbols
        self.param_symbols = param_symbols
        self.loss = loss

    # symbols ----------------------------------------------------------------
    def x_name(self, k: int = 0) -> str:
        return f"{self.x_symbol}_{k + 1}" if len(self.sources) > 1 else self.x_symbol

    def d(self, symbol: str) -> str:
        return f"∂{self.loss}/∂{symbol}"

    # factors ----------------------------------------------------------------
    def _entry(self, label: str, array: np.ndarray, key: str, at: Index) -> Factor:
        at = tuple(int(i) for i in at)
        name = f"{label}{index_text(at)}" if at else label  # a 0-d tensor: "∂L/∂L", not "∂L/∂L[]"
        return Factor(name, float(np.asarray(array)[at]), key, at)

    def x(self, at: Index, k: int = 0) -> Factor:
        """Input k's entry: the source node's output."""
        return self._entry(self.x_name(k), self.inputs[k], f"{self.sources[k]}/out", at)

    def y(self, at: Index) -> Factor:
        return self._entry(self.y_symbol, self.output, f"{self.node}/out", at)

    def gy(self, at: Index) -> Factor:
        """∂L/∂(output) entry: the upstream gradient."""
        return self._entry(self.d(self.y_symbol), self.grad_output, f"{self.node}/grad_out", at)

    def gx(self, at: Index, k: int = 0) -> Factor:
        return self._entry(self.d(self.x_name(k)), self.grad_inputs[k],
                           f"{self.node}/grad_in/{k}", at)

    def param(self, name: str, at: Index) -> Factor:
        return self._entry(self.param_symbols.get(name, name), self.params[name],
                           f"{self.node}/param/{name}", at)

    def grad(self, name: str, at: Index) -> Factor:
        return self._entry(self.d(self.param_symbols.get(name, name)), self.grads[name],
                           f"{self.node}/grad/{name}", at)

    def y_true(self, at: Index) -> Factor:
        """The target's entry (a loss node's y)."""
        return self._entry("y", self.target, f"{self.node}/target", at)

    @staticmethod
    def constant(label: str, value: float) -> Factor:
        return Factor(label, float(value))


# -- the graph's part -----------------------------------------------------------------
TENSOR = re.compile(r"out|grad_out|target|(grad_in)/(\d+)|(param|grad)/([^/]+)")


def explain_entry(session: StepSession, node: str, tensor: str, at: Index) -> Explanation:
    """The Explanation of session's tensor `<node>/<tensor>` at index `at`."""
    network = session.network
    if node not in network.nodes:
        raise ExplainError(f"no node '{node}' in this graph "
                           f"(nodes: {', '.join(network.nodes)})")
    array = tensor_of(session, node, tensor)
    at = check_index(array, at, f"{node}/{tensor}")
    value = float(np.asarray(array)[at])
    spec = network.nodes[node]
    forward, backward = steps_of(session, node)
    if tensor == "grad_out":
        explained = _grad_out(backward, at)
    elif tensor == "target":
        explained = Explained(f"y{index_text(at)} is data: the target of loss '{node}'",
                              (Term(1.0, (Factor(f"y{index_text(at)}", value,
                                                 f"{node}/target", at),)),))
    elif tensor.startswith("param/"):
        name = tensor.split("/", 1)[1]
        explained = Explained(f"{name}{index_text(at)} is a parameter: initialised from the "
                              "seed, loaded or trained, not computed by this pass",
                              (Term(1.0, (Factor(f"{name}{index_text(at)}", value,
                                                 f"{node}/{tensor}", at),)),))
    elif tensor == "out" and spec.op.op_name == "input":
        explained = Explained(f"x{index_text(at)} is data: sample {at[0]} of the batch",
                              (Term(1.0, (Factor(f"x{index_text(at)}", value,
                                                 f"{node}/out", at),)),))
    else:
        explained = spec.op.explain(tensor, at, op_pass(network, node, forward, backward))
    return Explanation(node, tensor, at, value, explained.formula, tuple(explained.terms),
                       explained.note, f"{node}/{tensor}")


def op_pass(network: Network, node: str, forward: Step, backward: Step | None) -> OpPass:
    op = network.nodes[node].op
    return OpPass(node, network.nodes[node].inputs, forward, backward, op.params, op.symbols,
                  dict(op.param_symbols))


def steps_of(session: StepSession, node: str) -> tuple[Step, Step | None]:
    forward = next(s for s in session.steps if s.phase == "forward" and s.node == node)
    backward = next((s for s in session.steps if s.phase == "backward" and s.node == node),
                    None)
    return forward, backward


def tensor_of(session: StepSession, node: str, tensor: str) -> np.ndarray:
    """The array `<node>/<tensor>` of the session's pass, or an ExplainError saying why not."""
    if not TENSOR.fullmatch(tensor):
        raise ExplainError(f"'{tensor}' is not a tensor of a node (out, grad_out, "
                           "grad_in/<k>, param/<p>, grad/<p>, target)")
    forward, backward = steps_of(session, node)
    op = session.network.nodes[node].op
    if tensor == "out":
        return forward.output
    if tensor == "target":
        if forward.target is None:
            raise ExplainError(f"node '{node}' is not a loss: it has no target")
        return forward.target
    kind, _, name = tensor.partition("/")
    if kind == "param":
        if name not in op.params:
            raise ExplainError(f"node '{node}' has no parameter '{name}' "
                               f"(it has: {', '.join(op.params) or 'none'})")
        return op.params[name]
    if backward is None:
        raise ExplainError(f"no backward pass of node '{node}' in this session")
    if tensor == "grad_out":
        return backward.grad_output
    if kind == "grad_in":
        k = int(name)
        if k >= len(backward.grad_inputs) or backward.grad_inputs[k] is None:
            raise ExplainError(f"node '{node}' has no input {k} "
                               f"(inputs: 0…{len(backward.grad_inputs) - 1})")
        return backward.grad_inputs[k]
    if name not in backward.grad_params:
        if not op.trainable and name in op.params:
            raise ExplainError(f"node '{node}' is frozen: no gradient '{name}' is kept")
        raise ExplainError(f"node '{node}' has no gradient '{name}' "
                           f"(it has: {', '.join(backward.grad_params) or 'none'})")
    return backward.grad_params[name]


def check_index(array: np.ndarray, at: Index, key: str) -> Index:
    shape = np.shape(array)
    if len(at) != len(shape):
        raise ExplainError(f"'{key}' has {len(shape)} axes (shape {list(shape)}), "
                           f"{len(at)} indexes given")
    for axis, (i, size) in enumerate(zip(at, shape)):
        if not 0 <= i < size:
            raise ExplainError(f"index {i} is outside axis {axis} of '{key}' (size {size})")
    return tuple(int(i) for i in at)


def _grad_out(backward: Step, at: Index) -> Explained:
    """∂L/∂out: the sum of what each consumer sends back (∂L/∂L = 1 at a loss)."""
    terms = []
    for consumer, port, grad in backward.contributions:
        if consumer == "L":
            value = float(np.asarray(grad)[at])
            terms.append(Term(1.0, (Factor("∂L/∂L" if not at else f"∂L/∂L{index_text(at)}",
                                           value),)))
        else:
            terms.append(Term(1.0, (Factor(f"∂L/∂{consumer}.in{port}{index_text(at)}",
                                           float(np.asarray(grad)[at]),
                                           f"{consumer}/grad_in/{port}", at),)))
    if not terms:
        formula = "∂L/∂out = 0: nothing downstream of this node reaches the loss"
    elif len(terms) == 1 and backward.contributions[0][0] == "L":
        formula = "∂L/∂L = 1: the start of the backward pass"
    elif len(terms) == 1:
        consumer, port, _ = backward.contributions[0]
        formula = f"∂L/∂out = what '{consumer}' sends back through its input {port}"
    else:
        formula = ("∂L/∂out = Σ over the consumers c of ∂L/∂out through c "
                   "(a fork: the chain rule adds the paths)")
    return Explained(formula, tuple(terms))
