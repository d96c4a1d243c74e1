"""A batch far too big is refused by every path in seconds, before anything big is allocated.

Each run is a process of its own, so its peak resident memory (VmHWM) is
the run's alone: VGG16's parameters alone are 528 MiB in float32 and 1.03 GiB
in float64, so a peak under PEAK_MIB means that not even the network was built.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VGG16 = ROOT / "resources" / "examples" / "vgg16.json"
HUGE = 100_000
PEAK_MIB = 400  # the interpreter, NumPy, Qt for the snapshot: a few hundred MiB at most
SECONDS = 60  # a refusal takes seconds; generous for a machine shared by many runs

RUN_COMMAND = textwrap.dedent("""
    import json, sys
    from bpviz.graph.memory import peak_resident_bytes
    from bpviz.main import main
    try:
        status = main(sys.argv[1:])
    except SystemExit as stop:
        status = stop.code
    peak = peak_resident_bytes()
    print(json.dumps({"status": status, "peak": peak}), file=sys.stderr)
""")


def run(code: str, *argv: str, env: dict | None = None) -> tuple[dict, str, float]:
    """(the child's report, its stderr, seconds) for `code` run with argv."""
    import os

    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                          timeout=10 * SECONDS)
    seconds = time.perf_counter() - start
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report, done.stderr, seconds


COMMANDS = {
    "check": [],
    "export": ["--to", "{tmp}/pass.npz"],
    "explain": ["--node", "fc8", "--tensor", "out", "--at", "0,0"],
    "train": ["--dataset", "digits", "--out", "{tmp}/run"],
    "snapshot": ["--out", "{tmp}/window.png", "--step", "1"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
@pytest.mark.parametrize("limit", [None, "20G"])
def test_a_huge_batch_is_refused_quickly_and_allocates_nothing_big(command, limit, tmp_path):
    argv = [command, str(VGG16), "--batch", str(HUGE),
            *[part.format(tmp=tmp_path) for part in COMMANDS[command]]]
    if limit:
        argv += ["--max-memory", limit]
    report, error, seconds = run(RUN_COMMAND, *argv, env={"BPVIZ_MAX_MEMORY": ""})
    assert report["status"] == 2, error
    assert "Traceback" not in error
    assert re.search(rf"a batch of {HUGE}\b.* needs about [\d.,]+ GiB", error), error
    source = "--max-memory" if limit else "available memory"
    assert re.search(rf"limit (of|is) [\d.]+ GiB \({source}\)", error), error
    # with the machine's memory the window's pass (float64, Adam's update phase) may
    # not fit even one sample: the refusal says so instead of naming a batch
    largest = r"the largest batch that fits is \d+"
    assert re.search(largest if limit else rf"{largest}|not even a batch of 1 fits", error)
    assert report["peak"] < PEAK_MIB * 2**20, f"peak {report['peak'] / 2**20:.0f} MiB"
    assert seconds < SECONDS
    assert list(tmp_path.iterdir()) == []  # nothing written


WINDOW = textwrap.dedent("""
    import json, sys
    from bpviz.graph.memory import peak_resident_bytes
    from bpviz.graph import load_graph
    from bpviz.workspace import Workspace
    from bpviz.workspace.passes import torch_check_refusal
    from types import SimpleNamespace

    workspace = Workspace(load_graph(sys.argv[1]))
    workspace.set_settings(batch=int(sys.argv[2]))
    reasons = {"pass": workspace.build_pass(),
               "torch check": torch_check_refusal(workspace.doc, workspace.report,
                                                  int(sys.argv[2])),
               "training": workspace.training.memory_problem(SimpleNamespace(
                   batch_size=int(sys.argv[2]), optimizer="adam", dtype="float32"))}
    built = workspace.session is not None
    peak = peak_resident_bytes()
    print(json.dumps({"reasons": reasons, "built": built, "peak": peak}), file=sys.stderr)
""")


def test_the_windows_pass_torch_check_and_training_refuse_a_huge_batch_quickly():
    report, error, seconds = run(WINDOW, str(VGG16), str(HUGE), env={"BPVIZ_MAX_MEMORY": ""})
    assert not report["built"]
    for what, reason in report["reasons"].items():
        assert reason is not None, what
        assert reason.startswith(f"not enough memory: a batch of {HUGE} ("), (what, reason)
        assert re.search(r"the limit is [\d.]+ GiB \(available memory\); "
                         r"(the largest batch that fits is \d+|not even a batch of 1 fits)",
                         reason), (what, reason)
    assert report["peak"] < PEAK_MIB * 2**20, f"peak {report['peak'] / 2**20:.0f} MiB"
    assert seconds < SECONDS
