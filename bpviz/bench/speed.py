"""Speed benchmark: one forward and backward pass per batch, bpviz's engine vs torch.

Run it as `python -m bpviz.bench` or `bpviz bench` (`--quick` for a smoke run).
Every workload is a bpviz graph document built into an engine Network and run
by the Executor; torch runs the same graph with the same weights and batch
through bpviz.oracle.speed (torch.nn.functional), on the CPU, in float32,
in the same process, with as many threads as NumPy's BLAS. Each side is timed
in rounds (warm-up, then timed samples, interleaved with the other side) and
the median sample is reported.

torch is imported only when the benchmark runs, never when bpviz starts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bpviz.cli.common import positive_int
from bpviz.engine.executor import Executor

DTYPE = np.float32
SEED = 0


# -- workloads -----------------------------------------------------------------
def node(node_id: str, op: str, inputs: tuple[str, ...] = (), **params) -> dict:
    """One node of a graph file."""
    return {"id": node_id, "op": op, "inputs": list(inputs), "params": params}


def graph_text(name: str, nodes: list[dict]) -> str:
    return json.dumps({"format": "bpviz-graph", "version": 1, "name": name, "nodes": nodes})


def digits_cnn() -> list[dict]:
    return [node("x", "input", shape=[1, 8, 8]),
            node("c1", "conv2d", ("x",), out_channels=16, kernel=3, padding=1),
            node("r1", "relu", ("c1",)),
            node("p1", "maxpool2d", ("r1",), kernel=2),
            node("c2", "conv2d", ("p1",), out_channels=32, kernel=3, padding=1),
            node("r2", "relu", ("c2",)),
            node("p2", "maxpool2d", ("r2",), kernel=2),
            node("flat", "flatten", ("p2",)),
            node("fc", "dense", ("flat",), units=10),
            node("loss", "softmax_cross_entropy", ("fc",))]


def residual_cnn() -> list[dict]:
    return [node("x", "input", shape=[3, 32, 32]),
            node("c1", "conv2d", ("x",), out_channels=32, kernel=3, padding=1),
            node("r1", "relu", ("c1",)),
            node("c2", "conv2d", ("r1",), out_channels=32, kernel=3, padding=1),
            node("sum", "add", ("c2", "r1")),
            node("r2", "relu", ("sum",)),
            node("p", "maxpool2d", ("r2",), kernel=2),
            node("c3", "conv2d", ("p",), out_channels=64, kernel=3, padding=2, dilation=2),
            node("r3", "relu", ("c3",)),
            node("gap", "global_avgpool", ("r3",)),
            node("fc", "dense", ("gap",), units=10),
            node("loss", "softmax_cross_entropy", ("fc",))]


def vgg_conv() -> list[dict]:
    # No loss node: L is the sum of the conv's outputs, so backward gives dX, dW and db.
    return [node("x", "input", shape=[64, 56, 56]),
            node("conv", "conv2d", ("x",), out_channels=64, kernel=3, padding=1)]


def mlp() -> list[dict]:
    return [node("x", "input", shape=[784]),
            node("h", "dense", ("x",), units=128),
            node("r", "relu", ("h",)),
            node("out", "dense", ("r",), units=10),
            node("loss", "softmax_cross_entropy", ("out",))]


def example(name: str) -> Callable[[], list[dict]]:
    """The nodes of a bundled example graph (its groups are not needed to run it)."""
    def nodes() -> list[dict]:
        from bpviz.graph import examples

        nodes = json.loads((examples.EXAMPLES / f"{name}.json").read_text())["nodes"]
        return [{k: v for k, v in n.items() if k != "group"} for n in nodes]

    return nodes


def pointwise_chain(length: int = 20) -> list[dict]:
    ops = ("tanh", "relu", "sigmoid", "leaky_relu")
    nodes = [node("n0", "input", shape=[8])]
    for i in range(1, length):
        nodes.append(node(f"n{i}", ops[(i - 1) % len(ops)], (f"n{i - 1}",)))
    return nodes


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    nodes: Callable[[], list[dict]]
    batch: int
    target: float  # the ratio to torch, or µs per node for the graph-overhead workload
    stretch: float | None  # a harder aim beyond the target, where there is one
    per_node: bool = False  # judged in µs per node rather than by the ratio
    big: bool = False  # seconds per pass and GiB of weights: left out of smoke tests


WORKLOADS = (
    Workload("W1", "digits CNN 1x8x8, batch 64", digits_cnn, 64, 0.9, None),
    Workload("W2", "residual CNN 3x32x32, batch 32", residual_cnn, 32, 1.5, None),
    Workload("W3", "conv 64->64 3x3 at 56x56, batch 8", vgg_conv, 8, 1.3, 1.0),
    Workload("MLP", "MLP 784-128-10, batch 256", mlp, 256, 0.9, None),
    Workload("graph", "20 pointwise nodes of 8x8", pointwise_chain, 8, 6.0, 4.0, per_node=True),
    Workload("VGG16", "VGG16 3x224x224, batch 1", example("vgg16"), 1, 1.3, None, big=True),
    Workload("R50", "ResNet-50 3x224x224, batch 2", example("resnet50"), 2, 1.3, None, big=True),
)


@dataclass
class Prepared:
    """A workload built for both sides: the engine's executor and its batch."""

    workload: Workload
    executor: Executor
    feeds: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]

    @property
    def node_count(self) -> int:
        return len(self.executor.network.order)


def prepare(workload: Workload) -> Prepared:
    from bpviz.graph import build_network, loads_graph
    from bpviz.graph.batch import random_batch

    document = loads_graph(graph_text(workload.title, workload.nodes()))
    network = build_network(document, seed=SEED, dtype=DTYPE)
    network.set_training(True)
    feeds, targets = random_batch(network, workload.batch, SEED, DTYPE)
    return Prepared(workload, Executor(network), feeds, targets)


def engine_step(prepared: Prepared) -> Callable[[], object]:
    executor, feeds, targets = prepared.executor, prepared.feeds, prepared.targets
    return lambda: executor.run(feeds, targets)


def torch_step(prepared: Prepared) -> Callable[[], object]:
    """The same graph in torch: forward, then the gradients of every parameter and input."""
    from bpviz.oracle.speed import torch_step as step

    return step(prepared.executor.network, prepared.feeds, prepared.targets)


# -- timing --------------------------------------------------------------------
@dataclass
class Timing:
    rounds: int = 5  # the sides take turns this often, so both meet the same background load
    samples: int = 3  # timed samples per round and side
    min_sample_s: float = 0.02  # each sample repeats the step until it lasts this long
    # A pause before each side's turn: torch's OpenMP threads and OpenBLAS's
    # threads keep spinning for a while after their last call, and on a small
    # machine they would steal the other side's cores.
    settle_s: float = 0.25

    @classmethod
    def quick(cls) -> Timing:
        return cls(rounds=1, samples=1, min_sample_s=0.0, settle_s=0.0)


def repetitions(step: Callable[[], object], min_seconds: float) -> int:
    """Warm up (one call) and pick how often one sample repeats the step."""
    start = time.perf_counter()
    step()
    once = time.perf_counter() - start
    return max(1, int(min_seconds / max(once, 1e-7)))


def sample(step: Callable[[], object], reps: int) -> float:
    """Seconds per call, over `reps` calls."""
    start = time.perf_counter()
    for _ in range(reps):
        step()
    return (time.perf_counter() - start) / reps


def time_pair(steps: dict[str, Callable[[], object]], timing: Timing) -> dict[str, float]:
    """Median seconds per call of each step; the sides take turns round by round."""
    reps = {}
    for side, step in steps.items():
        time.sleep(timing.settle_s)
        step()
        reps[side] = repetitions(step, timing.min_sample_s)
    times: dict[str, list[float]] = {side: [] for side in steps}
    for _ in range(timing.rounds):
        for side, step in steps.items():
            time.sleep(timing.settle_s)
            step()
            times[side] += [sample(step, reps[side]) for _ in range(timing.samples)]
    return {side: statistics.median(values) for side, values in times.items()}


# -- the machine ---------------------------------------------------------------
def blas_info() -> dict:
    """NumPy's BLAS: threads, library, kernel (threadpoolctl when installed)."""
    info = {"threads": os.cpu_count() or 1, "library": "unknown", "kernel": "unknown",
            "source": "os.cpu_count()"}
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return info
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            info.update(threads=int(pool["num_threads"]), source="threadpoolctl",
                        library=f"{pool.get('internal_api')} {pool.get('version')}",
                        kernel=str(pool.get("architecture")))
            break
    return info


def machine_lines(blas: dict, torch_threads: int) -> list[str]:
    import platform

    from bpviz.oracle.speed import torch_version

    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
                    if k in os.environ) or "none"
    return [f"cpu: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
            f"python {platform.python_version()}, numpy {np.__version__}, "
            f"torch {torch_version()}",
            f"numpy BLAS: {blas['library']}, kernel {blas['kernel']}, "
            f"{blas['threads']} threads (from {blas['source']}); OpenBLAS env: {env}",
            f"torch threads: {torch_threads}; dtype float32; forward + backward per batch; "
            f"load average {load_average()}"]


def load_average() -> str:
    """Other work on the machine skews every timing: say how busy it was."""
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except (AttributeError, OSError):
        return "unknown"


# -- the run -------------------------------------------------------------------
@dataclass
class Result:
    workload: Workload
    engine_s: float
    torch_s: float
    nodes: int

    @property
    def ratio(self) -> float:
        return self.engine_s / self.torch_s

    @property
    def score(self) -> float:
        """What the target judges: the ratio, or µs per node."""
        return self.engine_s * 1e6 / self.nodes if self.workload.per_node else self.ratio

    @property
    def verdict(self) -> str:
        stretch = self.workload.stretch
        if stretch is not None and self.score <= stretch:
            return "stretch"
        return "ok" if self.score <= self.workload.target else "MISSED"


def run_benchmark(timing: Timing, only: list[str] | None = None
                  ) -> tuple[list[Result], list[str]]:
    """(one Result per workload, lines describing the machine)."""
    from bpviz.oracle.speed import use_threads

    blas = blas_info()
    lines = machine_lines(blas, use_threads(blas["threads"]))
    results = []
    for workload in WORKLOADS:
        if only and workload.key.lower() not in only:
            continue
        prepared = prepare(workload)
        times = time_pair({"engine": engine_step(prepared), "torch": torch_step(prepared)},
                          timing)
        results.append(Result(workload, times["engine"], times["torch"], prepared.node_count))
    return results, lines


def format_table(results: list[Result]) -> str:
    rows = [("workload", "", "bpviz ms", "torch ms", "ratio", "target", "stretch", "")]
    for r in results:
        w = r.workload
        if w.per_node:
            score = f"{r.score:.2f} us/node"
            unit = " us"
        else:
            score, unit = "", "x"
        target = f"<= {w.target:g}{unit}"
        stretch = "" if w.stretch is None else f"<= {w.stretch:g}{unit}"
        rows.append((w.key, w.title, f"{r.engine_s * 1e3:.3f}", f"{r.torch_s * 1e3:.3f}",
                     f"{r.ratio:.2f}x", target, stretch, f"{r.verdict} {score}".rstrip()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    right = {2, 3, 4}
    return "\n".join("  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip()
                     for row in rows)


def main_with(args: argparse.Namespace) -> int:
    timing = Timing.quick() if args.quick else Timing()
    if args.rounds:
        timing.rounds = args.rounds
    only = [k.strip().lower() for k in args.only.split(",") if k.strip()] if args.only else None
    known = {w.key.lower() for w in WORKLOADS}
    unknown = sorted(set(only or ()) - known)
    if unknown:
        print(f"bpviz bench: unknown workload {unknown[0]!r} (known: "
              f"{', '.join(w.key for w in WORKLOADS)})", file=sys.stderr)
        return 2
    busy = busy_before()
    results, lines = run_benchmark(timing, only)
    print("\n".join(lines))
    print(format_table(results))
    if busy:
        print(f"note: the machine was busy when the benchmark started (load {busy}); "
              "other work slows both sides unevenly, so take the ratios with care",
              file=sys.stderr)
    return 0


def busy_before() -> str | None:
    """The 1-minute load average when it is half the cores or more, else None."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return None
    return f"{load:.2f}" if load >= 0.5 * (os.cpu_count() or 1) else None


def add_parser(commands) -> None:
    """`bpviz bench`."""
    parser = commands.add_parser("bench", help="time the engine against torch (CPU, float32)",
                                 description=__doc__.splitlines()[0])
    add_arguments(parser)
    parser.set_defaults(run=main_with)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `bpviz bench` and `python -m bpviz.bench`."""
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: one warm-up and one timed call per side")
    parser.add_argument("--rounds", type=positive_int, default=None,
                        help="timing rounds per workload (default 5, quick 1)")
    parser.add_argument("--only", metavar="KEYS",
                        help="comma-separated workload keys, e.g. W1,MLP")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench",
                                     description=__doc__.splitlines()[0])
    add_arguments(parser)
    return main_with(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
