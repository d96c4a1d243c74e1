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
    from bpviz.graph.memory import MemoryLimitError
    from bpviz.graph.weights import WeightsError

    return GraphError, WeightsError, HyperError, ShapeError, OSError, MemoryLimitError


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
    add_memory_option(parser)


def add_memory_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--max-memory", metavar="SIZE",
                        help="refuse a run whose estimated peak memory is larger, e.g. 512M "
                             "or 2G (default: $BPVIZ_MAX_MEMORY, else the memory available "
                             "now less a margin)")


def limit_of(args: argparse.Namespace):
    """The memory limit the command's --max-memory (or the environment) sets."""
    from bpviz.graph.memory import memory_limit

    try:
        return memory_limit(getattr(args, "max_memory", None))
    except ValueError as error:
        raise CliError(str(error)) from None


def check_memory(args: argparse.Namespace, document, batch: int, path: str = "session",
                 optimizer: str | None = None, extra=None, evaluation: int = 0,
                 built: int = 0):
    """Refuse (exit 2) a run that would not fit in memory, before it allocates anything
    big; the estimate (bpviz.graph.memory) when it fits. built: bytes of the network
    built already (see bpviz.graph.memory.fit)."""
    from bpviz.graph import validate
    from bpviz.graph.memory import Footprint, fit

    dtype = np.dtype(args.dtype)
    footprint = Footprint(document, validate(document, dtype))
    update = getattr(args, "update", None)
    if update is not None and extra is None:  # export --update: a copy of the network steps

        momentum = getattr(args, "momentum", None)
        state = None if update == "sgd" and momentum == 0 else update  # plain SGD: none

        def extra(size: int) -> dict[str, int]:
            return footprint.update_phase(size, dtype, state)
    return fit(footprint, path, batch, dtype, limit_of(args), optimizer=optimizer,
               extra=extra, what=f"bpviz {args.command}", evaluation=evaluation, built=built)


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


def prepare_run(args: argparse.Namespace, extra=None, path: str = "session"):
    """(document, network, feeds, targets) from a graph-running command's options.

    Refuses (MemoryLimitError, exit 2) a pass that would not fit in memory: with a
    random batch before anything is built, with --inputs once their size is known.
    extra: the command's own memory beside the pass (bpviz.graph.memory.Extra);
    path: what the command runs, as bpviz.graph.memory names it ("check": the
    torch check).
    """
    from bpviz.graph import build_network
    from bpviz.graph.batch import load_batch, random_batch
    from bpviz.graph.weights import load_weights

    dtype = np.dtype(args.dtype)
    document = load_document(args.graph)
    if not args.inputs:
        check_memory(args, document, args.batch, path=path, extra=extra)
    network = build_network(document, seed=args.seed, dtype=dtype)
    if args.weights:
        load_weights(network, args.weights)
    network.set_training(not args.eval)
    if args.inputs:
        feeds, targets = load_batch(network, args.inputs, dtype)
        from bpviz.graph.memory import network_bytes

        check_memory(args, document, len(next(iter(feeds.values()))), path=path,
                     extra=extra, built=network_bytes(network))
    else:
        feeds, targets = random_batch(network, args.batch, args.seed, dtype)
    return document, network, feeds, targets
