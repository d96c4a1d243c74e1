"""`bpviz explain`: text, JSON and LaTeX of one entry, checked against torch and
against `bpviz export --to pass.npz` of the same run; every bad argument exits 2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
TINY = EXAMPLES / "tiny_cnn.json"
DIGITS = EXAMPLES / "digits_cnn.json"
JSON_KEYS = {"node", "tensor", "at", "value", "formula", "terms", "terms_total", "sum"}


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, np.ndarray]:
    """Every tensor of the pass `bpviz explain` runs by default (seed 0, batch 4)."""
    out = tmp_path_factory.mktemp("pass") / "pass.npz"
    assert main(["export", str(TINY), "--to", str(out), "--seed", "0", "--batch", "4"]) == 0
    with np.load(out, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


@pytest.fixture(scope="module")
def torch_tensors() -> dict[str, np.ndarray]:
    """torch's pass on the graph, weights and batch of the same options."""
    pytest.importorskip("torch")
    from bpviz.graph import build_network, load_graph
    from bpviz.graph.batch import random_batch
    from bpviz.oracle.compare import torch_pass

    network = build_network(load_graph(TINY), seed=0)
    feeds, targets = random_batch(network, 4, 0, np.dtype(np.float64))
    return torch_pass(network, feeds, targets)


def explain_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, "explain", TINY, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.mark.parametrize("tensor, at", [("grad/weight", "2,0,1,1"), ("out", "1,3,0,7"),
                                        ("grad/bias", "5"), ("grad_in/0", "0,0,0,0")])
def test_json_lists_every_term_of_the_entry(capsys, exported, torch_tensors, tensor, at):
    document = explain_json(capsys, "--node", "c1", "--tensor", tensor, "--at", at)
    assert set(document) == JSON_KEYS
    index = tuple(int(i) for i in at.split(","))
    assert document["node"] == "c1" and document["tensor"] == tensor
    assert document["at"] == list(index)
    assert document["value"] == float(exported[f"c1/{tensor}"][index])
    reference = torch_tensors["x/grad_out" if tensor == "grad_in/0" else f"c1/{tensor}"]
    assert document["value"] == pytest.approx(float(reference[index]), rel=1e-9, abs=1e-15)
    terms = document["terms"]
    assert document["terms_total"] == len(terms) > 0
    total = math.fsum(term["coefficient"] * math.prod(f["value"] for f in term["factors"])
                      for term in terms)
    assert total == pytest.approx(document["value"], rel=1e-9, abs=1e-15)
    assert document["sum"] == pytest.approx(total, rel=1e-12, abs=1e-300)
    for term in terms:
        for factor in term["factors"]:
            assert set(factor) == {"label", "key", "at", "value"}
            if factor["key"] is not None:  # an entry of the same exported pass
                assert factor["value"] == float(exported[factor["key"]][tuple(factor["at"])])


def test_weight_gradient_of_a_padded_conv_has_one_term_per_tap_inside(capsys):
    # c1: 3×3 kernel, padding 1 on 8×8 maps, batch 4. Tap (k1, k2) = (0, 0) reads
    # U[i1 − 1, i2 − 1]: inside for i1, i2 ≥ 1, so 7·7 windows per sample.
    document = explain_json(capsys, "--node", "c1", "--tensor", "grad/weight",
                            "--at", "0,0,0,0")
    assert document["terms_total"] == 4 * 7 * 7
    keys = {f["key"] for t in document["terms"] for f in t["factors"]}
    assert keys == {"x/out", "c1/grad_out"}


def test_target_is_an_entry_of_the_export(capsys, exported):
    assert "loss/target" in exported and exported["loss/target"].shape == (4,)
    document = explain_json(capsys, "--node", "loss", "--tensor", "target", "--at", "2")
    assert document["value"] == float(exported["loss/target"][2])
    assert document["terms"][0]["factors"][0]["key"] == "loss/target"


def test_text_shows_formula_terms_numbers_and_sum(capsys, exported):
    code, out, _ = run(capsys, "explain", TINY, "--node", "c1", "--tensor", "grad/weight",
                       "--at", "2,0,1,1")
    assert code == 0
    lines = out.splitlines()
    assert lines[1].startswith("∂L/∂W[1,1,0,2] = Σ_{i1,i2} U[i1, i2, 0] ∂L/∂Z[i1,i2,2]")
    assert lines[2].startswith("  = U[0,0,0,0]·∂L/∂Z[0,2,0,0] + ")
    assert "… and" in lines[3] and "more terms" in lines[3]
    value = float(lines[4].split()[1].replace("−", "-"))
    assert value == pytest.approx(float(exported["c1/grad/weight"][2, 0, 1, 1]), rel=1e-3)
    code, out, _ = run(capsys, "explain", TINY, "--node", "c1", "--tensor", "grad/weight",
                       "--at", "2,0,1,1", "--terms", "2")
    assert out.splitlines()[2].count(" + ") == 2


def test_latex_is_an_align_block(capsys):
    code, out, _ = run(capsys, "explain", TINY, "--node", "p1", "--tensor", "grad_in/0",
                       "--at", "0,0,0,0", "--latex")
    assert code == 0
    body = [line for line in out.splitlines() if not line.startswith("%")]
    assert body[0] == r"\begin{align*}" and body[-1] == r"\end{align*}"
    assert all(line.isascii() for line in body)
    assert r"\frac{\partial L}{\partial U[0,0,0]}" in body[1]


def test_float32_and_eval_runs_explain_too(capsys):
    code, out, err = run(capsys, "explain", DIGITS, "--node", "conv2", "--tensor", "out",
                         "--at", "1,0,2,2", "--dtype", "float32", "--eval", "--batch", "2",
                         "--json")
    assert code == 0, err
    document = json.loads(out)
    assert document["sum"] == pytest.approx(document["value"], rel=1e-5)


@pytest.mark.parametrize("argv, message", [
    (["--node", "nope", "--tensor", "out", "--at", "0,0"], "no node 'nope'"),
    (["--node", "c1", "--tensor", "weights", "--at", "0"], "'weights' is not a tensor"),
    (["--node", "c1", "--tensor", "grad/kernel", "--at", "0"], "no gradient 'kernel'"),
    (["--node", "c1", "--tensor", "param/kernel", "--at", "0"], "no parameter 'kernel'"),
    (["--node", "c1", "--tensor", "grad_in/1", "--at", "0,0,0,0"], "no input 1"),
    (["--node", "c1", "--tensor", "target", "--at", "0"], "not a loss"),
    (["--node", "c1", "--tensor", "out", "--at", "0,8,0,0"], "index 8 is outside axis 1"),
    (["--node", "c1", "--tensor", "out", "--at", "4,0,0,0"], "index 4 is outside axis 0"),
    (["--node", "c1", "--tensor", "out", "--at", "0,-1,0,0"], "index -1 is outside axis 1"),
    (["--node", "c1", "--tensor", "out", "--at", "0,0"], "has 4 axes"),
    (["--node", "c1", "--tensor", "out", "--at", "0,x"], "--at must be whole numbers"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    code, out, err = run(capsys, "explain", TINY, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err


def test_frozen_node_has_no_weight_gradient(capsys):
    code, _, err = run(capsys, "explain", EXAMPLES / "transfer_digits.json", "--node", "conv1",
                       "--tensor", "grad/weight", "--at", "0,0,0,0")
    assert code == 2 and "frozen" in err


def test_missing_graph_and_both_formats_exit_2(capsys, tmp_path):
    code, _, err = run(capsys, "explain", tmp_path / "none.json", "--node", "c1",
                       "--tensor", "out")
    assert code == 2 and "does not exist" in err
    with pytest.raises(SystemExit) as stop:
        main(["explain", str(TINY), "--node", "c1", "--tensor", "out", "--json", "--latex"])
    assert stop.value.code == 2


def test_the_readme_example_is_what_the_command_prints(capsys):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Every number explained", 1)[1]
    block = section.split("```text\n", 1)[1].split("\n```", 1)[0]
    command, *printed = block.splitlines()
    argv = command.removeprefix("$ bpviz ").split()
    assert argv[0] == "explain"
    code, out, _ = run(capsys, argv[0], ROOT / argv[1], *argv[2:])
    assert code == 0 and out.splitlines() == printed


def test_the_bpviz_command_has_explain(capsys):
    from bpviz.main import main as bpviz

    code = bpviz(["explain", str(TINY), "--node", "c1", "--tensor", "grad/bias", "--at", "0"])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("c1/grad/bias[0] = ")
