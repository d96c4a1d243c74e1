"""Weights for a transfer-learning graph: its frozen layers from a trained run, the rest fresh.

    python scripts/make_transfer_weights.py runs/source/weights.npz \\
        resources/examples/transfer_digits.json --out resources/examples/transfer_digits.npz

Every node of GRAPH marked "trainable": false takes its tensors from SOURCE (a
weights file written by `bpviz train`, whose graph has the same node ids and
shapes); every other node keeps the initial values bpviz gives it from --seed,
as if the graph had just been built. A retrained head therefore starts afresh
instead of from the source task's confident answers. Only bpviz's own API is
used.
"""

from __future__ import annotations

import argparse

from bpviz.graph import build_network, load_graph
from bpviz.graph.weights import read_npz, save_weights


def transfer(source: str, graph: str, out: str, seed: int = 0) -> list[str]:
    """Write the weights; returns the ids of the nodes whose tensors were transferred."""
    document = load_graph(graph)
    network = build_network(document, seed=seed)
    given = read_npz(source, "source weights")
    moved = []
    for node in network.order:
        if document.nodes[node.id].trainable:
            continue
        for store in (node.op.params, node.op.buffers):
            for name, value in store.items():
                key = f"{node.id}/{name}"
                if key not in given or given[key].shape != value.shape:
                    raise SystemExit(f"{source} has no tensor '{key}' of shape "
                                     f"{list(value.shape)} for the frozen node '{node.id}'")
                store[name] = given[key].astype(value.dtype)
        if node.op.params or node.op.buffers:
            moved.append(node.id)
    save_weights(network, out)
    return moved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", metavar="SOURCE.npz", help="weights of the trained run")
    parser.add_argument("graph", metavar="GRAPH.json", help="the transfer-learning graph")
    parser.add_argument("--out", required=True, metavar="W.npz", help="weights to write")
    parser.add_argument("--seed", type=int, default=0, help="seed of the fresh layers")
    args = parser.parse_args(argv)
    moved = transfer(args.source, args.graph, args.out, args.seed)
    print(f"wrote {args.out}: {', '.join(moved) or 'no layers'} from {args.source}, "
          f"the other layers fresh from seed {args.seed}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
