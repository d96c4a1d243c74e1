"""From a GraphDocument to an engine Network with initialised parameters.

Initialisation: every node gets its own generator,
`bpviz.engine.init.node_rng(seed, node id)`, so adding or removing a node
never changes another node's weights. A node whose output goes only to
ReLU-like nodes (ops that declare `relu_like`: relu and leaky_relu), directly
or through one batchnorm node whose consumers all are, is initialised with He
(Kaiming) normal; every other node with Glorot (Xavier) uniform. Biases start
at zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bpviz.engine import OPS, Network, NodeSpec
from bpviz.engine.init import after_each_chunk, node_rng
from bpviz.graph.document import GraphDocument
from bpviz.graph.shapes import validate

NORM_OPS = frozenset({"batchnorm"})


def _relu_like(op_name: str) -> bool:
    return op_name in OPS and OPS[op_name].relu_like


def init_scheme(doc: GraphDocument, node_id: str,
                consumers: dict[str, list[tuple[str, int]]] | None = None) -> str:
    """'he' when the node feeds only ReLU-like nodes (maybe through one batchnorm)."""
    if consumers is None:
        consumers = doc.consumers()

    def relu_only(users: list[tuple[str, int]]) -> bool:
        return bool(users) and all(_relu_like(doc.nodes[user].op) for user, _ in users)

    users = consumers[node_id]
    if not users:
        return "glorot"
    for user, _ in users:
        op = doc.nodes[user].op
        if _relu_like(op):
            continue
        if op in NORM_OPS and relu_only(consumers[user]):
            continue
        return "glorot"
    return "he"


def build_network(doc: GraphDocument, seed: int = 0, dtype=np.float64,
                  progress: Callable[[int, int], None] | None = None) -> Network:
    """Validate the document (GraphError otherwise) and build its Network;
    `progress(done, total)` hears of every node made (and may raise to stop)."""
    dtype = np.dtype(dtype)
    report = validate(doc, dtype)
    consumers = doc.consumers()
    specs = []
    for node_id in report.order:
        node = doc.nodes[node_id]
        op = OPS[node.op](**node.params)
        in_shapes = [report.shapes[src] for src in node.inputs]
        with after_each_chunk(lambda: progress(len(specs), len(report.order))
                              if progress is not None else None):
            op.init_params(in_shapes, node_rng(seed, node_id), dtype,
                           init_scheme(doc, node_id, consumers))
        op.trainable = node.trainable
        if op.op_name == "dropout":
            op.rng = node_rng(seed, node_id)
        specs.append(NodeSpec(node_id, op, list(node.inputs)))
        if progress is not None:
            progress(len(specs), len(report.order))
    return Network(specs)
