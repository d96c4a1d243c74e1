"""Estimated against measured peak memory: `python -m bpviz.bench.memory`.

Each case runs in a child process of its own: it makes the estimate
(bpviz.graph.memory) before building anything, then builds the network, draws
a random batch and runs one pass, and reports its peak resident memory
(ru_maxrss). Paths: "engine" (Executor.run letting go of activations, as in
training) and "session" (a StepSession, as export, explain and the window).
Default: VGG16 at batch 1 and 2 in float32 and float64.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
CASES = [("engine", 1, "float32"), ("engine", 2, "float32"), ("engine", 1, "float64"),
         ("engine", 2, "float64"), ("session", 1, "float32"), ("session", 2, "float32"),
         ("session", 1, "float64"), ("session", 2, "float64")]


def measure(graph: str, path: str, batch: int, dtype: str) -> dict:
    """In this process: the estimate, then one pass and its peak resident memory."""
    import numpy as np

    from bpviz.engine.executor import Executor
    from bpviz.engine.stepping import StepSession
    from bpviz.graph import build_network, load_graph
    from bpviz.graph.batch import random_batch
    from bpviz.graph.memory import Footprint

    document = load_graph(graph)
    estimate = Footprint(document).estimate(path, batch, dtype)
    network = build_network(document, seed=0, dtype=np.dtype(dtype))
    feeds, targets = random_batch(network, batch, 0, np.dtype(dtype))
    if path == "engine":
        Executor(network, keep=set()).run(feeds, targets)
    else:
        StepSession(network, feeds, targets)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    return {"estimate": estimate.total, "parts": estimate.parts, "peak": peak}


def run_case(graph: str, path: str, batch: int, dtype: str) -> dict:
    command = [sys.executable, "-m", "bpviz.bench.memory", "--child", graph, path,
               str(batch), dtype]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.memory",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--graph", default=str(EXAMPLES / "vgg16.json"))
    parser.add_argument("--parts", action="store_true", help="print each estimate's parts")
    parser.add_argument("--child", nargs=4, metavar=("GRAPH", "PATH", "BATCH", "DTYPE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        graph, path, batch, dtype = args.child
        print(json.dumps(measure(graph, path, int(batch), dtype)))
        return 0
    print(f"{Path(args.graph).name}; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    print(f"{'path':8} {'batch':>5} {'dtype':8} {'estimate':>10} {'measured':>10} {'ratio':>6}")
    for path, batch, dtype in CASES:
        result = run_case(args.graph, path, batch, dtype)
        ratio = result["peak"] / result["estimate"]
        print(f"{path:8} {batch:5} {dtype:8} {result['estimate'] / 2**30:8.2f} G "
              f"{result['peak'] / 2**30:8.2f} G {ratio:6.2f}", flush=True)
        if args.parts:
            print("   ", ", ".join(f"{name} {count / 2**20:.0f} M"
                                   for name, count in result["parts"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
