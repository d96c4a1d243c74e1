"""`bpviz import-torch` and `bpviz export-torch`: carry networks between PyTorch and bpviz.

torch is imported only when one of these commands runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bpviz.cli.common import CliError, add_graph_argument, load_document, positive_int

IMPORT_HELP = """\
Trace the nn.Module that FACTORY returns with torch.fx and write the bpviz graph
and, with --weights, its parameters and buffers ('<node id>/<param>', float64).
SOURCE is a .py file or a dotted module name (found from the current folder);
FACTORY is a callable in it taking no arguments (a function or the class)."""

EXPORT_HELP = """\
Write a self-contained PyTorch module equivalent to the graph: a class with one
named submodule per layer, forward in topological order with every shape in a
comment, a loss(output, target) method for the graph's loss nodes, and
load_bpviz_weights(model, path) / save_bpviz_weights(model, path) for bpviz
weight files (BPVIZ_KEYS maps '<node id>/<param>' to state_dict keys).

With --train-script, also write a PyTorch training script for the module: it
trains on a .csv/.npz file as `bpviz train` does (same split, standardisation,
batch order, optimizers and defaults, metrics.csv), on a GPU when there is one
and across GPUs or machines with torchrun (DistributedDataParallel), and saves
bpviz weight files to load back with --weights or File > Load Weights. The
graph needs one input and one loss node, as for bpviz train; the script finds
the module file by its path relative to the script. Run it with --help."""


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "import-torch", help="trace a PyTorch nn.Module into a bpviz graph",
        description=IMPORT_HELP)
    parser.format_help = lambda: _with_supported(parser)
    parser.add_argument("factory", metavar="SOURCE:FACTORY",
                        help="e.g. models.py:make_model or mypackage.nets:Net")
    parser.add_argument("--input-shape", nargs="+", type=positive_int, required=True,
                        metavar="DIM", help="one sample's shape: C H W, or F for an MLP")
    parser.add_argument("--out", required=True, metavar="GRAPH.json", help="graph to write")
    parser.add_argument("--weights", metavar="OUT.npz", help="also write the weights here")
    parser.set_defaults(run=run_import)

    parser = commands.add_parser("export-torch", help="write a bpviz graph as a PyTorch module",
                                 description=EXPORT_HELP)
    add_graph_argument(parser)
    parser.add_argument("--out", required=True, metavar="model.py", help="Python file to write")
    parser.add_argument("--weights", metavar="W.npz",
                        help="check that this weights file fits; its path goes in the usage "
                             "example of the generated file")
    parser.add_argument("--train-script", metavar="train.py",
                        help="also write a PyTorch training script (torchrun-ready) here")
    parser.set_defaults(run=run_export)


def _with_supported(parser: argparse.ArgumentParser) -> str:
    """The help with what the ops' torch rules carry over (torch loads only for --help)."""
    from bpviz.oracle.rules import supported_text

    parser.epilog = f"Supported: {supported_text()}."
    return argparse.ArgumentParser.format_help(parser)


def _refuse_same_path(*paths: str | None) -> None:
    given = [Path(p).resolve() for p in paths if p]
    if len(set(given)) != len(given):
        raise CliError("the output files must be different files")


def run_import(args: argparse.Namespace) -> int:
    if len(args.input_shape) not in (1, 3):
        raise CliError(f"--input-shape takes C H W (an image) or F (features), got "
                       f"{len(args.input_shape)} numbers")
    _refuse_same_path(args.out, args.weights)
    from bpviz.oracle.importer import InteropError, import_torch, save_import

    try:
        result = import_torch(args.factory, tuple(args.input_shape))
    except InteropError as error:
        raise CliError(str(error)) from None
    save_import(result, args.out, args.weights)
    count = sum(value.size for key, value in result.weights.items()
                if not key.endswith(("running_mean", "running_var")))
    print(f"wrote {args.out}: {len(result.document.nodes)} nodes, {count:,} parameters"
          + (f"; weights in {args.weights}" if args.weights else ""))
    return 0


def run_export(args: argparse.Namespace) -> int:
    _refuse_same_path(args.out, args.graph, args.train_script)
    document = load_document(args.graph)
    from bpviz.oracle.exporter import InteropError, write_export

    try:
        class_name = write_export(document, args.out, args.weights, source=args.graph,
                                  train_script_path=args.train_script)
    except InteropError as error:
        raise CliError(str(error)) from None
    print(f"wrote {args.out}: class {class_name}"
          + (f"; load_bpviz_weights(model, {args.weights!r}) loads {args.weights}"
             if args.weights else ""))
    if args.train_script:
        print(f"wrote {args.train_script}: python {args.train_script} --dataset DATA.npz, "
              f"or torchrun --nproc_per_node=N {args.train_script} --dataset DATA.npz "
              f"(--help for the options)")
    return 0
