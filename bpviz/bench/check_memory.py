"""Peak memory of `bpviz check`: the command run in a child process, its peak RSS read back.

    python -m bpviz.bench.check_memory resources/examples/vgg16.json --batch 1 \
        --dtype float64 float32

prints, per dtype, the child's peak resident memory (getrusage's ru_maxrss of
the finished child: Linux reports KiB), its wall time and exit code. Each
dtype gets a fresh process, so one's peak does not hide the other's.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

GIB = 2**30


def measure(graph: str, batch: int, dtype: str, seed: int = 0) -> tuple[float, float, int]:
    """(peak RSS in bytes, seconds, exit code) of one `bpviz check` in a child process."""
    code = ("import resource, sys\n"
            "from bpviz.cli import main\n"
            "try:\n"
            "    status = main(sys.argv[1:])\n"
            "except SystemExit as stop:\n"
            "    status = stop.code\n"
            "from bpviz.graph.memory import peak_resident_bytes\n"
            "peak = peak_resident_bytes() // 1024\n"
            "print(f'peak-kib {peak}', file=sys.stderr)\n"
            "sys.exit(status)\n")
    argv = ["check", graph, "--batch", str(batch), "--dtype", dtype, "--seed", str(seed)]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("peak-kib")]
    if peaks:
        return int(peaks[-1]) * 1024.0, seconds, done.returncode
    # The child died before reporting (killed for memory): the OS's figure for children.
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024.0, seconds, \
        done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpviz.bench.check_memory",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("graph")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    args = parser.parse_args(argv)
    for dtype in args.dtype:
        peak, seconds, status = measure(args.graph, args.batch, dtype, args.seed)
        print(f"bpviz check {args.graph} --batch {args.batch} --dtype {dtype}: "
              f"peak {peak / GIB:.2f} GiB, {seconds:.0f} s, exit {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
