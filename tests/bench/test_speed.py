"""The speed benchmark runs end to end; no timing is asserted (machines are shared)."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from bpviz.bench import speed as bench
from bpviz.main import main

pytest.importorskip("torch")


SMALL = [w for w in bench.WORKLOADS if not w.big]


def test_quick_benchmark_reports_every_small_workload_with_a_finite_ratio():
    results, lines = bench.run_benchmark(bench.Timing.quick(), [w.key.lower() for w in SMALL])
    assert [r.workload.key for r in results] == [w.key for w in SMALL]
    for result in results:
        assert math.isfinite(result.ratio) and result.ratio > 0, result
        assert math.isfinite(result.score)
    table = bench.format_table(results)
    for workload in SMALL:
        assert f"\n{workload.key} " in table
    assert any("torch threads" in line for line in lines)
    assert any("numpy BLAS" in line for line in lines)


def test_the_torch_side_computes_the_same_loss_and_gradients():
    prepared = bench.prepare(bench.WORKLOADS[0])
    loss = prepared.executor.run(prepared.feeds, prepared.targets)
    grads = bench.torch_step(prepared)()
    assert len(grads) == 1 + sum(len(n.op.params) for n in prepared.executor.network.order)
    conv = prepared.executor.network.nodes["c1"].op
    import numpy as np

    np.testing.assert_allclose(grads[1].numpy(), conv.grads["weight"], rtol=1e-3, atol=1e-5)
    assert math.isfinite(loss)


def test_bpviz_bench_command_runs_one_workload(capsys):
    assert main(["bench", "--quick", "--only", "graph"]) == 0
    out = capsys.readouterr().out
    assert "us/node" in out and "\ngraph " in out


def test_an_unknown_workload_is_refused(capsys):
    assert main(["bench", "--only", "W9"]) == 2
    assert "unknown workload" in capsys.readouterr().err


def test_module_runs_as_a_script():
    result = subprocess.run([sys.executable, "-m", "bpviz.bench", "--quick", "--only", "MLP"],
                            capture_output=True, text=True, check=True)
    assert "\nMLP " in result.stdout


def test_the_big_workloads_are_the_bundled_vgg16_and_resnet50():
    import json

    from bpviz.graph import examples, loads_graph

    big = {w.key: w for w in bench.WORKLOADS if w.big}
    assert set(big) == {"VGG16", "R50"}
    for key, name, batch in (("VGG16", "vgg16", 1), ("R50", "resnet50", 2)):
        shipped = json.loads((examples.EXAMPLES / f"{name}.json").read_text())["nodes"]
        nodes = big[key].nodes()
        assert [n["id"] for n in nodes] == [n["id"] for n in shipped]
        assert [(n["op"], n.get("params")) for n in nodes] == [(n["op"], n.get("params"))
                                                                for n in shipped]
        assert big[key].batch == batch
        loads_graph(bench.graph_text(key, nodes))  # loads as the benchmark builds it
