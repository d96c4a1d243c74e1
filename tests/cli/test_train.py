"""`bpviz train`: accuracy reached, files written, frozen layers, clean errors and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main
from bpviz.cli.train import Progress
from bpviz.engine.trainer import EpochEvent, IterationEvent
from bpviz.graph import build_network, load_graph
from bpviz.graph.weights import load_weights

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def metrics(out: Path) -> list[dict[str, str]]:
    with (out / "metrics.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def write_graph(path: Path, nodes: list[dict]) -> Path:
    path.write_text(json.dumps({"format": "bpviz-graph", "version": 1, "nodes": nodes}))
    return path


def test_digits_cnn_reaches_97_percent(capsys, tmp_path):
    code, out, err = run(capsys, "train", EXAMPLES / "digits_cnn.json", "--dataset", "digits",
                         "--epochs", 8, "--out", tmp_path)
    assert code == 0, err
    rows = metrics(tmp_path)
    assert [int(row["epoch"]) for row in rows] == list(range(1, 9))
    assert float(rows[-1]["val_acc"]) >= 0.97
    assert f"final validation accuracy {100 * float(rows[-1]['val_acc']):.1f}%" in out
    assert len(out.strip().splitlines()) == 1
    assert err.count("\n") == 8 and "\r" not in err  # not a terminal: a line per epoch
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as saved:
        assert saved["conv1/weight"].shape == (16, 1, 3, 3)
        assert saved["conv1/weight"].dtype == np.float32
    network = build_network(load_graph(EXAMPLES / "digits_cnn.json"), dtype=np.float32)
    load_weights(network, tmp_path / "weights.npz")


@pytest.mark.parametrize("dataset", ["moons", "circles"])
def test_two_layer_mlp_separates_toy_sets(capsys, tmp_path, dataset):
    code, out, err = run(capsys, "train", EXAMPLES / "moons_mlp.json", "--dataset", dataset,
                         "--out", tmp_path)
    assert code == 0, err
    rows = metrics(tmp_path)
    assert len(rows) >= 10 and int(rows[-1]["iteration"]) >= 1000  # the default length
    assert float(rows[-1]["val_acc"]) >= 0.95


def test_frozen_layer_keeps_its_initial_weights_bit_for_bit(capsys, tmp_path):
    graph = json.loads((EXAMPLES / "moons_mlp.json").read_text())
    next(n for n in graph["nodes"] if n["id"] == "hidden")["trainable"] = False
    path = tmp_path / "frozen.json"
    path.write_text(json.dumps(graph))
    code, _, err = run(capsys, "train", path, "--dataset", "moons", "--epochs", 20,
                       "--seed", 4, "--out", tmp_path)
    assert code == 0, err
    initial = build_network(load_graph(path), seed=4, dtype=np.float32).parameters()
    with np.load(tmp_path / "weights.npz", allow_pickle=False) as trained:
        for key in ("hidden/weight", "hidden/bias"):
            assert trained[key].dtype == initial[key].dtype
            assert np.array_equal(trained[key], initial[key])
        assert not np.array_equal(trained["out/weight"], initial["out/weight"])


def test_flat_input_gets_flat_digits_and_images_get_their_size(capsys, tmp_path):
    flat = write_graph(tmp_path / "flat.json", [
        {"id": "x", "op": "input", "params": {"shape": [64]}},
        {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 10}},
        {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc"]}])
    code, out, err = run(capsys, "train", flat, "--dataset", "digits", "--epochs", 3,
                         "--out", tmp_path / "a")
    assert code == 0, err
    assert float(metrics(tmp_path / "a")[-1]["val_acc"]) > 0.9
    shapes = write_graph(tmp_path / "shapes.json", [
        {"id": "x", "op": "input", "params": {"shape": [1, 12, 12]}},
        {"id": "f", "op": "flatten", "inputs": ["x"]},
        {"id": "fc", "op": "dense", "inputs": ["f"], "params": {"units": 4}},
        {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc"]}])
    code, _, err = run(capsys, "train", shapes, "--dataset", "shapes", "--epochs", 1,
                       "--out", tmp_path / "b")
    assert code == 0, err


def test_user_csv_file_trains(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((80, 2))
    lines = ["a,b,label"] + [f"{p:.6f},{q:.6f},{int(p > q)}" for p, q in x]
    (tmp_path / "points.csv").write_text("\n".join(lines) + "\n")
    code, out, err = run(capsys, "train", EXAMPLES / "moons_mlp.json", "--dataset",
                         tmp_path / "points.csv", "--out", tmp_path / "run", "--epochs", 50)
    assert code == 0, err
    assert float(metrics(tmp_path / "run")[-1]["val_acc"]) >= 0.9


def test_non_finite_training_exits_1_naming_node_and_iteration(capsys, tmp_path):
    graph = write_graph(tmp_path / "regression.json", [
        {"id": "x", "op": "input", "params": {"shape": [2]}},
        {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 1}},
        {"id": "loss", "op": "mse", "inputs": ["fc"]}])
    code, _, err = run(capsys, "train", graph, "--dataset", "moons", "--optimizer", "sgd",
                       "--lr", 50, "--momentum", 0, "--epochs", 5, "--out", tmp_path)
    assert code == 1
    message = err.strip().splitlines()[-1]
    assert message.startswith("bpviz: error: iteration ")
    assert "of node 'fc'" in message or "of node 'loss'" in message
    assert "lr 50 may be too high" in message
    assert (tmp_path / "metrics.csv").exists() and not (tmp_path / "weights.npz").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--dataset", "blobs"], "blobs has 3 classes"),
    (["--dataset", "digits"], "the digits images are 1×8×8 but the graph's input 'x' expects 2"),
    (["--dataset", "missing.csv"], "missing.csv: file not found"),
    (["--dataset", "moons", "--momentum", "0.5"], "--momentum is for --optimizer sgd"),
    (["--dataset", "moons", "--weights", "nowhere.npz"], "nowhere.npz does not exist"),
])
def test_data_or_options_that_do_not_fit_exit_2(capsys, tmp_path, argv, message):
    code, _, err = run(capsys, "train", EXAMPLES / "moons_mlp.json", *argv,
                       "--out", tmp_path)
    assert code == 2
    assert message in err
    assert not (tmp_path / "metrics.csv").exists()


def test_missing_graph_exits_2(capsys, tmp_path):
    code, _, err = run(capsys, "train", tmp_path / "none.json", "--dataset", "moons")
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("argv", [
    ["--lr", "-0.1"], ["--lr", "0"], ["--lr", "nan"], ["--epochs", "0"], ["--batch", "-3"],
    ["--val-fraction", "1"], ["--weight-decay", "-1"], ["--optimizer", "rmsprop"],
    ["--dtype", "float16"],
])
def test_bad_arguments_exit_2(capsys, argv):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", str(EXAMPLES / "moons_mlp.json"), "--dataset", "moons", *argv])
    assert exit_info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_progress_redraws_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    progress = Progress(stream, epochs=2, per_epoch=3)
    for i in range(1, 4):
        progress(IterationEvent(i, 1, 0.5, {}))
    progress(EpochEvent(1, 3, 0.5, 0.75, 0.4, 0.8, 1.0))
    text = stream.getvalue()
    assert text.startswith("\repoch 1/2 [") and "3/3" in text and "it/s" in text
    assert "loss 0.5" in text
    assert text.endswith("epoch 1/2: train loss 0.5000 acc 75.0%, val loss 0.4000 acc 80.0% "
                         "(1.0 s)\n")
    assert text.count("\n") == 1


def test_ctrl_c_stops_after_an_iteration_and_saves_what_was_trained(tmp_path):
    import signal
    import subprocess
    import sys

    argv = [sys.executable, "-m", "bpviz", "train", str(EXAMPLES / "moons_mlp.json"),
            "--dataset", "moons", "--epochs", "100000", "--out", str(tmp_path)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stderr.readline()  # the first epoch has been trained
        assert first.startswith("epoch 1/100000"), first
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "stopping after this iteration" in err
    assert "training was cancelled" in out and "weights.npz" in out
    assert len(metrics(tmp_path)) >= 1
    untrained = build_network(load_graph(EXAMPLES / "moons_mlp.json"), dtype=np.float32)
    trained = build_network(load_graph(EXAMPLES / "moons_mlp.json"), dtype=np.float32)
    load_weights(trained, tmp_path / "weights.npz")
    before, after = untrained.parameters(), trained.parameters()
    assert all(np.isfinite(value).all() for value in after.values())
    assert any(not np.array_equal(before[key], after[key]) for key in before)
