"""What every graph-running command shares: loading, weights, batches, dtype, mode."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from bpviz.engine import OPS, HyperError, Network, NodeSpec, ShapeError


class CliError(ValueError):
    """Bad arguments: printed as one line, exit code 2."""


def expected_errors() -> tuple[type[BaseException], ...]:
    from bpviz.graph import GraphError
    from bpviz.graph.weights import WeightsError

    return GraphError, WeightsError, HyperError, ShapeError, OSError


def add_graph_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("graph", metavar="GRAPH.json", help="a bpviz graph file")


def add_run_options(parser: argparse.ArgumentParser, default_dtype: str = "float64") -> None:
    """The options of every command that runs a graph."""
    parser.add_argument("--weights", metavar="W.npz",
                        help="weights '<node>/<param>' in torch layouts (default: from --seed)")
    parser.add_argument("--inputs", metavar="BATCH.npz",
                        help="'x' (and 'y' labels/targets) (default: a random batch)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights and batch")
    parser.add_argument("--batch", type=positive_int, default=4, help="random batch size")
    parser.add_argument("--dtype", choices=("float64", "float32"), default=default_dtype)
    parser.add_argument("--eval", action="store_true",
                        help="evaluation mode (running statistics, no dropout)")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def load_document(path: str):
    from bpviz.graph import load_graph

    if not Path(path).is_file():
        raise CliError(f"graph file {path} does not exist")
    return load_graph(path)


def unbuilt_network(document) -> Network:
    """Op instances without weights: enough for shapes and receptive fields."""
    return Network([NodeSpec(node.id, OPS[node.op](**node.params), list(node.inputs))
                    for node in document.nodes.values()])


def prepare_run(args: argparse.Namespace):
    """(document, network, feeds, targets) from a graph-running command's options."""
    from bpviz.graph import build_network
    from bpviz.graph.batch import load_batch, random_batch
    from bpviz.graph.weights import load_weights

    dtype = np.dtype(args.dtype)
    document = load_document(args.graph)
    network = build_network(document, seed=args.seed, dtype=dtype)
    if args.weights:
        load_weights(network, args.weights)
    network.set_training(not args.eval)
    if args.inputs:
        feeds, targets = load_batch(network, args.inputs, dtype)
    else:
        feeds, targets = random_batch(network, args.batch, args.seed, dtype)
    return document, network, feeds, targets
