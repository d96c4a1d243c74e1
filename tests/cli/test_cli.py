"""The bpviz command: figures against published numbers, exit codes, clean errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main
from bpviz.engine import OPS

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
DATA = ROOT / "tests" / "data"
CHECKED_GRAPHS = [EXAMPLES / "tiny_cnn.json", EXAMPLES / "two_layer_classifier.json",
                  EXAMPLES / "dilated_convolutions.json", DATA / "residual_concat_cnn.json",
                  DATA / "every_loss.json"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def info_json(capsys, path: Path) -> dict:
    code, out, _ = run(capsys, "info", path, "--json")
    assert code == 0
    return json.loads(out)


def test_vgg16_has_the_published_parameter_count_and_field(capsys):
    # Simonyan & Zisserman (2015); torchvision's vgg16 counts 138,357,544.
    info = info_json(capsys, EXAMPLES / "vgg16.json")
    assert info["total_params"] == 138_357_544
    nodes = {node["id"]: node for node in info["nodes"]}
    assert nodes["pool5"]["receptive_field"]["size"] == [212, 212]
    assert nodes["pool5"]["output_shape"] == [512, 7, 7]
    assert nodes["fc6"]["receptive_field"] is None


def test_dilated_example_fields_grow_3_7_15_and_plain_3_5_7(capsys):
    nodes = {n["id"]: n for n in info_json(capsys, EXAMPLES / "dilated_convolutions.json")["nodes"]}
    assert [nodes[f"dil{i}"]["receptive_field"]["size"][0] for i in (1, 2, 3)] == [3, 7, 15]
    assert [nodes[f"plain{i}"]["receptive_field"]["size"][0] for i in (1, 2, 3)] == [3, 5, 7]
    # Equal parameter counts per layer, as the lecture says of dilation.
    assert nodes["dil3"]["params"] == nodes["plain3"]["params"] == 4 * 4 * 9 + 4


def test_info_table_is_readable(capsys):
    code, out, _ = run(capsys, "info", EXAMPLES / "tiny_cnn.json")
    assert code == 0
    assert "8×8×8" in out and "total parameters: 1,370" in out


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("graph", CHECKED_GRAPHS, ids=lambda p: p.stem)
def test_check_agrees_with_torch(capsys, graph, dtype):
    code, out, _ = run(capsys, "check", graph, "--dtype", dtype, "--json", "--batch", "5")
    report = json.loads(out)
    assert code == 0, out
    assert report["ok"] and len(report["nodes"]) == len(json.loads(graph.read_text())["nodes"])


def test_check_in_eval_mode_agrees(capsys):
    code, out, _ = run(capsys, "check", DATA / "every_loss.json", "--eval")
    assert code == 0, out


def test_check_reports_a_wrong_gradient_with_exit_1(capsys, monkeypatch):
    backward = OPS["dense"].backward

    def slightly_wrong(self, gy):
        grads = backward(self, gy)
        self.grads["weight"] = self.grads["weight"] * 1.001
        return grads

    monkeypatch.setattr(OPS["dense"], "backward", slightly_wrong)
    code, out, _ = run(capsys, "check", EXAMPLES / "tiny_cnn.json")
    assert code == 1
    assert "MISMATCH" in out and "DISAGREE" in out


def test_float32_check_aligns_relu_inputs_rounded_across_zero(capsys):
    # Seed 7 puts a ReLU input of resnet_blocks within rounding of 0, and the
    # engine and torch round it to opposite sides in float32.
    argv = ("check", EXAMPLES / "resnet_blocks.json", "--dtype", "float32", "--seed", "7")
    code, out, _ = run(capsys, *argv)
    assert code == 0, out
    assert "engine and torch agree" in out and "aligned 1 entry at a kink" in out
    code, out, _ = run(capsys, *argv, "--json")
    assert json.loads(out)["aligned"] == {"bottle_out": 1}


def test_float32_check_with_an_aligned_kink_still_catches_a_wrong_gradient(capsys, monkeypatch):
    backward = OPS["global_avgpool"].backward  # one node of resnet_blocks
    monkeypatch.setattr(OPS["global_avgpool"], "backward",
                        lambda self, gy: tuple(g * 1.001 for g in backward(self, gy)))
    code, out, _ = run(capsys, "check", EXAMPLES / "resnet_blocks.json", "--dtype", "float32",
                       "--seed", "7")
    assert code == 1 and "MISMATCH" in out


def test_weights_and_inputs_files_round_trip(capsys, tmp_path):
    from bpviz.graph import build_network, load_graph
    from bpviz.graph.weights import save_weights

    graph = EXAMPLES / "tiny_cnn.json"
    save_weights(build_network(load_graph(graph), seed=7), tmp_path / "w.npz")
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "b.npz", x=rng.standard_normal((3, 1, 8, 8)), y=np.array([1, 9, 0]))
    code, out, err = run(capsys, "check", graph, "--weights", tmp_path / "w.npz",
                         "--inputs", tmp_path / "b.npz")
    assert code == 0, out + err


@pytest.mark.parametrize("arrays, message", [
    ({"x": np.zeros((2, 1, 7, 8)), "y": np.zeros(2, int)}, "shape"),
    ({"x": np.zeros((2, 1, 8, 8)), "y": np.array([0, 10])}, "0..9"),
    ({"x": np.zeros((2, 1, 8, 8))}, "'y'"),
    ({"x": np.full((2, 1, 8, 8), np.nan), "y": np.zeros(2, int)}, "finite"),
])
def test_bad_inputs_files_exit_2(capsys, tmp_path, arrays, message):
    np.savez(tmp_path / "b.npz", **arrays)
    code, _, err = run(capsys, "check", EXAMPLES / "tiny_cnn.json", "--inputs", tmp_path / "b.npz")
    assert code == 2 and message in err


def test_weights_that_do_not_fit_exit_2(capsys, tmp_path):
    np.savez(tmp_path / "w.npz", **{"c1/weight": np.zeros((8, 1, 5, 5))})
    code, _, err = run(capsys, "check", EXAMPLES / "tiny_cnn.json", "--weights", tmp_path / "w.npz")
    assert code == 2 and "c1/weight" in err


def test_pickled_weights_are_refused(capsys, tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, **{"c1/weight": np.array([{"a": 1}], dtype=object)})
    code, _, err = run(capsys, "check", EXAMPLES / "tiny_cnn.json", "--weights", path)
    assert code == 2 and "npz" in err


@pytest.mark.parametrize("argv, message", [
    (["check", "missing.json"], "does not exist"),
    (["info", "missing.json"], "does not exist"),
])
def test_missing_files_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_broken_graph_exits_2_naming_the_node(capsys, tmp_path):
    path = tmp_path / "bad.json"
    text = (EXAMPLES / "tiny_cnn.json").read_text().replace('"kernel": 3', '"kernel": 11')
    path.write_text(text)
    for command in ("check", "info"):
        code, _, err = run(capsys, command, path)
        assert code == 2 and "c1" in err


@pytest.mark.parametrize("argv", [["check", "x.json", "--dtype", "float16"],
                                  ["check", "x.json", "--batch", "0"], ["frobnicate"]])
def test_bad_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
