"""Estimated against measured peak memory: `python -m bpviz.bench.memory`.

Each case runs in a child process of its own and reports its peak resident
memory (ru_maxrss) beside the estimate the run made before building anything
(bpviz.graph.memory). A command (export, explain, train, snapshot, check) is
run as `bpviz COMMAND …` through bpviz.cli.main, with `fit` recording every
estimate the command makes (the largest one is compared: `bpviz train` makes a
second one once its data are loaded). "engine" is the engine's own forward and
backward (Executor.run letting go of activations, as in training), without a
command around it.

Default: VGG16 at batch 1 and 2 and ResNet-50 at batch 2 and 4, every command
but check (`--commands check` adds it: it runs torch as well, and takes long).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
GRAPHS = {"vgg16": (1, 2), "resnet50": (2, 4)}
COMMANDS = ("engine", "export", "explain", "train", "snapshot", "check")
DEFAULT_COMMANDS = COMMANDS[:-1]
VALIDATION = 8  # held-out samples of the training runs: evaluated as one batch
TRAIN_ITERATIONS = 2


def measure_engine(graph: str, batch: int, dtype: str) -> dict:
    """In this process: the estimate, then one training pass and its peak."""
    import numpy as np

    from bpviz.engine.executor import Executor
    from bpviz.graph import build_network, load_graph
    from bpviz.graph.batch import random_batch
    from bpviz.graph.memory import Footprint, peak_resident_bytes

    document = load_graph(graph)
    estimate = Footprint(document).estimate("engine", batch, dtype)
    network = build_network(document, seed=0, dtype=np.dtype(dtype))
    feeds, targets = random_batch(network, batch, 0, np.dtype(dtype))
    Executor(network, keep=set()).run(feeds, targets)
    return {"estimate": estimate.total, "parts": estimate.parts, "status": 0,
            "peak": peak_resident_bytes()}


def measure_command(argv: list[str]) -> dict:
    """In this process: `bpviz ARGV`, recording each estimate it makes, and its peak."""
    import bpviz.graph.memory as memory

    estimates = []
    original = memory.fit

    def recording_fit(*args, **kwargs):
        estimate = original(*args, **kwargs)
        estimates.append(estimate)
        return estimate

    memory.fit = recording_fit  # before bpviz.workspace imports it by name
    from functools import partial

    from bpviz import cli
    from bpviz.cli import check, explain, export, snapshot, train
    from bpviz.ui.snapshot import render_window

    commands = [check.add_parser, partial(snapshot.add_parser, render_window=render_window),
                train.add_parser, export.add_parser, explain.add_parser]
    with open(os.devnull, "w") as quiet:  # the command's own output is not the report
        stdout, sys.stdout = sys.stdout, quiet
        try:
            status = cli.main(argv, commands)
        finally:
            sys.stdout = stdout
    largest = max(estimates, key=lambda estimate: estimate.total, default=None)
    return {"estimate": largest.total if largest else 0,
            "parts": largest.parts if largest else {}, "status": status,
            "peak": memory.peak_resident_bytes()}


def last_layer(graph: str) -> str:
    """The node the loss reads: the entry `bpviz explain` is asked about."""
    document = json.loads(Path(graph).read_text())
    loss = next(node for node in document["nodes"] if node["op"].endswith("cross_entropy"))
    return loss["inputs"][0]


def tiny_dataset(graph: str, batch: int, folder: Path) -> tuple[Path, float]:
    """An .npz of random images at the graph's input size: TRAIN_ITERATIONS batches
    to train on and VALIDATION samples to evaluate; (path, validation fraction)."""
    import numpy as np

    document = json.loads(Path(graph).read_text())
    shape = next(node for node in document["nodes"] if node["op"] == "input")["params"]["shape"]
    count = TRAIN_ITERATIONS * batch + VALIDATION
    rng = np.random.default_rng(0)
    path = folder / f"data_{batch}.npz"
    np.savez(path, x=rng.standard_normal((count, *shape)).astype(np.float32),
             y=np.arange(count) % 2)
    return path, VALIDATION / count


def command_line(command: str, graph: str, batch: int, folder: Path) -> list[str]:
    """The `bpviz` arguments of one case (each command in its default dtype)."""
    size = ["--batch", str(batch)]
    if command == "export":
        return ["export", graph, *size, "--to", str(folder / "pass.npz")]
    if command == "explain":
        return ["explain", graph, *size, "--node", last_layer(graph), "--tensor", "out",
                "--at", "0,0"]
    if command == "train":
        data, fraction = tiny_dataset(graph, batch, folder)
        return ["train", graph, *size, "--dataset", str(data), "--epochs", "1",
                "--val-fraction", f"{fraction:.6f}", "--out", str(folder / "run")]
    if command == "snapshot":
        return ["snapshot", graph, *size, "--step", "1", "--phase", "backward",
                "--out", str(folder / "window.png")]
    if command == "check":
        return ["check", graph, *size]
    raise ValueError(f"unknown command {command!r}")


def run_case(command: str, graph: str, batch: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="bpviz-memory-") as folder:
        if command == "engine":
            child = ["--engine", graph, str(batch), "float32"]
        else:
            child = ["--command", *command_line(command, graph, batch, Path(folder))]
        done = subprocess.run([sys.executable, "-m", "bpviz.bench.memory", *child],
                              capture_output=True, text=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"estimate": 0, "parts": {}, "status": done.returncode,
                "peak": 0, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(lines[-1])


def machine() -> str:
    try:
        import psutil

        memory = f", {psutil.virtual_memory().total / 2**30:.0f} GiB"
    except ImportError:
        memory = ""
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores{memory}, "
            f"Python {platform.python_version()}, "
            f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.memory",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--graphs", nargs="+", choices=list(GRAPHS), default=list(GRAPHS))
    parser.add_argument("--commands", nargs="+", choices=COMMANDS,
                        default=list(DEFAULT_COMMANDS))
    parser.add_argument("--batches", nargs="+", type=int,
                        help="batch sizes (default: 1 2 for VGG16, 2 4 for ResNet-50)")
    parser.add_argument("--parts", action="store_true", help="print each estimate's parts")
    parser.add_argument("--engine", nargs=3, metavar=("GRAPH", "BATCH", "DTYPE"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--command", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.engine:
        graph, batch, dtype = args.engine
        print(json.dumps(measure_engine(graph, int(batch), dtype)))
        return 0
    if args.command:
        print(json.dumps(measure_command(args.command)))
        return 0
    print(machine())
    print(f"{'command':9} {'graph':9} {'batch':>5} {'estimate':>10} {'measured':>10} {'ratio':>6}")
    for name in args.graphs:
        graph = str(EXAMPLES / f"{name}.json")
        for batch in args.batches or GRAPHS[name]:
            for command in args.commands:
                result = run_case(command, graph, batch)
                ratio = result["peak"] / result["estimate"] if result["estimate"] else 0.0
                note = f"  exit {result['status']} {result.get('error', '')}" \
                    if result["status"] else ""
                print(f"{command:9} {name:9} {batch:5} {result['estimate'] / 2**30:8.2f} G "
                      f"{result['peak'] / 2**30:8.2f} G {ratio:6.2f}{note}", flush=True)
                if args.parts:
                    print("   ", ", ".join(f"{part} {count / 2**20:.0f} M"
                                           for part, count in result["parts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
