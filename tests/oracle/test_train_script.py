"""The training script of `bpviz export-torch --train-script` against bpviz itself.

The oracle is bpviz: its own `bpviz train` run (data rules, split,
standardisation, batch order, optimizer defaults and metrics, all in float64
from the same starting weights), its optimizers (bpviz.engine.optim), its data
pipeline (bpviz.data.fit.prepare) and its weights reader. The script runs as a
user runs it: `python train.py` and `torchrun` in a subprocess, in one process
and in two (gloo on the CPU), which must not be skipped.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch

from bpviz.cli import main
from bpviz.cli.train import make_optimizer as bpviz_optimizer
from bpviz.data import moons
from bpviz.data.fit import prepare
from bpviz.engine import Executor
from bpviz.engine.events import METRIC_FIELDS
from bpviz.graph import build_network, load_graph
from bpviz.graph.weights import load_weights, network_tensors, save_weights

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"
# dense → batchnorm → relu → dense → softmax cross-entropy, on moons. fc1 has no bias:
# a bias before batchnorm gets a gradient of rounding noise, which Adam blows up to ±lr.
BATCHNORM_MLP = {
    "format": "bpviz-graph", "version": 1, "name": "moons with batchnorm",
    "nodes": [{"id": "x", "op": "input", "params": {"shape": [2]}},
              {"id": "fc1", "op": "dense", "inputs": ["x"], "params": {"units": 8, "bias": False}},
              {"id": "bn", "op": "batchnorm", "inputs": ["fc1"]},
              {"id": "act", "op": "relu", "inputs": ["bn"]},
              {"id": "fc2", "op": "dense", "inputs": ["act"], "params": {"units": 2}},
              {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc2"]}]}
TIMEOUT = 600  # seconds for one subprocess on a busy machine


class Exported:
    """A graph exported with its training script, starting weights and moons data."""

    def __init__(self, folder: Path, graph: Path, tag: str, samples: int = 200) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder, self.graph = folder, graph
        self.model = folder / f"model_{tag}.py"
        self.script = folder / "train.py"
        assert main(["export-torch", str(graph), "--out", str(self.model),
                     "--train-script", str(self.script)]) == 0
        self.init = folder / "init.npz"
        save_weights(build_network(load_graph(graph), seed=3), self.init)
        self.data = folder / "moons.npz"
        dataset = moons(n=samples, seed=4)
        np.savez(self.data, x=dataset.x, y=dataset.y)

    def run(self, *launcher: str, out: str, options: tuple[str, ...] = ()) -> Path:
        """Run the script in a subprocess from its folder; the output folder."""
        command = [*launcher, self.script.name, "--dataset", self.data.name, "--out", out,
                   "--dtype", "float64", "--weights", self.init.name, *options]
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        done = subprocess.run(command, cwd=self.folder, capture_output=True, text=True,
                              timeout=TIMEOUT, env=environment)
        assert done.returncode == 0, done.stdout + done.stderr
        assert len([line for line in done.stdout.splitlines()
                    if line.startswith("epoch ")]) == 3  # one line per epoch, process 0 only
        return self.folder / out

    def bpviz_train(self, out: str, options: tuple[str, ...] = ()) -> Path:
        assert main(["train", str(self.graph), "--dataset", str(self.data), "--out",
                     str(self.folder / out), "--dtype", "float64", "--weights",
                     str(self.init), *options]) == 0
        return self.folder / out

    def load(self, name: str):
        """The generated script (or model) imported as a module, without running main."""
        path = self.script if name == "train" else self.model
        spec = importlib.util.spec_from_file_location(f"{self.model.stem}_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


def metrics(folder: Path) -> tuple[list[str], list[dict[str, str]]]:
    with (folder / "metrics.csv").open(newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames), list(reader)


def assert_same_run(ours: Path, theirs: Path, tolerance: float) -> None:
    """The same metrics (all but the time) and the same weights, to `tolerance`."""
    fields, rows = metrics(ours)
    assert tuple(fields) == METRIC_FIELDS
    _, expected = metrics(theirs)
    assert len(rows) == len(expected) == 3
    for row, want in zip(rows, expected):
        assert row["epoch"] == want["epoch"] and row["iteration"] == want["iteration"]
        for key in ("train_loss", "train_acc", "val_loss", "val_acc"):
            assert abs(float(row[key]) - float(want[key])) < tolerance, (key, row, want)
    assert float(rows[-1]["train_loss"]) < float(rows[0]["train_loss"])  # it learns
    with np.load(ours / "weights.npz") as a, np.load(theirs / "weights.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert a[key].dtype == np.float64
            assert np.max(np.abs(a[key] - b[key])) < tolerance, key


@pytest.fixture(scope="module")
def batchnorm_mlp(tmp_path_factory) -> Exported:
    folder = tmp_path_factory.mktemp("batchnorm_mlp")
    graph = folder / "graph.json"
    graph.write_text(json.dumps(BATCHNORM_MLP))
    return Exported(folder, graph, "bn")


@pytest.fixture(scope="module")
def bpviz_run(batchnorm_mlp) -> Path:
    return batchnorm_mlp.bpviz_train("bpviz_run", ("--epochs", "3"))


@pytest.fixture(scope="module")
def python_run(batchnorm_mlp) -> Path:
    return batchnorm_mlp.run(sys.executable, out="python_run", options=("--epochs", "3"))


def test_python_train_py_trains_as_bpviz_train_does(python_run, bpviz_run):
    assert_same_run(python_run, bpviz_run, 1e-10)


def test_the_saved_weights_come_back_into_bpviz_and_compute_what_torch_computes(
        batchnorm_mlp, python_run):
    network = build_network(load_graph(batchnorm_mlp.graph))
    load_weights(network, python_run / "weights.npz")  # bpviz's reader: every key and shape
    assert np.any(network.nodes["bn"].op.buffers["running_var"] != 1.0)  # statistics moved
    generated = batchnorm_mlp.load("model")
    model = generated.MoonsWithBatchnorm().double()
    generated.load_bpviz_weights(model, str(python_run / "weights.npz"))
    model.eval()
    network.set_training(False)
    x = np.random.default_rng(7).standard_normal((9, 2))
    executor = Executor(network)
    executor.run({"x": x}, {"loss": np.arange(9) % 2}, backward=False)
    expected = model(torch.tensor(x)).detach().numpy()
    assert np.max(np.abs(executor.values["fc2"] - expected)) < 1e-10


def test_torchrun_in_one_process_trains_as_bpviz_train_does(batchnorm_mlp, bpviz_run):
    ours = batchnorm_mlp.run(sys.executable, "-m", "torch.distributed.run", "--standalone",
                             "--nproc_per_node=1", out="torchrun_1",
                             options=("--epochs", "3"))
    assert_same_run(ours, bpviz_run, 1e-10)


def test_torchrun_in_two_processes_takes_bpviz_trains_steps(tmp_path):
    """Two processes on the CPU (gloo), each half of every batch: the gradients
    DistributedDataParallel averages are the whole batch's, so the run is bpviz's."""
    exported = Exported(tmp_path, EXAMPLES / "moons_mlp.json", "two", samples=250)
    options = ("--epochs", "3", "--optimizer", "sgd", "--batch", "20")  # 200 = 10 · 20
    ours = exported.run(sys.executable, "-m", "torch.distributed.run", "--standalone",
                        "--nproc_per_node=2", out="torchrun_2", options=options)
    assert_same_run(ours, exported.bpviz_train("bpviz_run", options), 1e-9)


SETTINGS = {"sgd defaults": ["--optimizer", "sgd"], "adam defaults": [],
            "sgd tuned": ["--optimizer", "sgd", "--lr", "0.1", "--momentum", "0.5",
                          "--weight-decay", "0.01"],
            "adam tuned": ["--lr", "0.003", "--weight-decay", "0.001"]}


@pytest.mark.parametrize("flags", SETTINGS.values(), ids=SETTINGS)
def test_two_steps_from_the_same_weights_and_batches_match_the_engines_optimizer(
        batchnorm_mlp, flags):
    script = batchnorm_mlp.load("train")
    args = script.parse_args(["--dataset", "unused.npz", *flags])
    generated = batchnorm_mlp.load("model")
    model = generated.MoonsWithBatchnorm().double()
    script.load_bpviz_weights(model, str(batchnorm_mlp.init))
    model.train()
    optimizer = script.make_optimizer(args, model)

    network = build_network(load_graph(batchnorm_mlp.graph), dtype=np.dtype(np.float64))
    load_weights(network, batchnorm_mlp.init)
    network.set_training(True)
    engine = bpviz_optimizer(Namespace(optimizer=args.optimizer, momentum=args.momentum,
                                       lr=args.lr, weight_decay=args.weight_decay), network)
    executor = Executor(network)
    rng = np.random.default_rng(11)
    for _ in range(2):
        x, y = rng.standard_normal((6, 2)), rng.integers(0, 2, 6)
        executor.run({"x": x}, {"loss": y})
        engine.step()
        engine.zero_grad()
        loss = model.loss(model(torch.tensor(x)), script.targets(torch.tensor(y),
                                                                 torch.float64))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    state, names = model.state_dict(), generated.BPVIZ_KEYS
    for key, value in network_tensors(network).items():
        torch_value = state[names[key]]
        assert np.max(np.abs(torch_value.numpy() - value)) < 1e-12, key


def _digits_like(path: Path, images: bool) -> None:
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 16, (60, 1, 8, 8))
    x[:, :, 0, 0] = 0.0  # a constant pixel: only centred
    np.savez(path, x=x if images else x.reshape(60, 64), y=np.arange(60) % 10)


def _csv_with_header(path: Path) -> None:
    dataset = moons(n=50, seed=1)
    rows = ["a,b,label"] + [f"{float(a)!r},{float(b)!r},{float(c)}" for (a, b), c in
                            zip(dataset.x, dataset.y)]
    path.write_text("\n".join(rows) + "\n\n")


DATA = {"csv with a header": ("moons_mlp", "moons.csv", _csv_with_header),
        "images": ("digits_cnn", "digits.npz", lambda p: _digits_like(p, True)),
        "images for a flat input": ("digits_flat", "digits.npz",
                                    lambda p: _digits_like(p, True)),
        "flat images for an image input": ("digits_cnn", "digits.npz",
                                           lambda p: _digits_like(p, False))}
DIGITS_FLAT = {"format": "bpviz-graph", "version": 1, "name": "flat digits",
               "nodes": [{"id": "x", "op": "input", "params": {"shape": [64]}},
                         {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": 10}},
                         {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["fc"]}]}


@pytest.mark.parametrize("case", DATA.values(), ids=DATA)
def test_the_script_reads_splits_and_standardises_data_as_bpviz_does(tmp_path, case):
    graph_name, file_name, write = case
    graph = tmp_path / "graph.json"
    if graph_name == "digits_flat":
        graph.write_text(json.dumps(DIGITS_FLAT))
    else:
        graph.write_text((EXAMPLES / f"{graph_name}.json").read_text())
    exported = Exported(tmp_path, graph, f"{graph_name}_{tmp_path.name}")
    data = tmp_path / file_name
    write(data)
    script = exported.load("train")
    network = build_network(load_graph(graph))
    try:
        expected = prepare(str(data), network, seed=5, val_fraction=0.3)
    except ValueError as error:  # bpviz refuses: so must the script, in the same words
        with pytest.raises(script.DataError) as refused:
            script.load_data(str(data))
        assert "expects" in str(error) and "expects" in str(refused.value)
        return
    x, y = script.load_data(str(data))
    train, val = script.split(y, 0.3, 5)
    x_train, x_val = script.standardise(x[train], [x[val]])
    assert np.array_equal(y[train], expected.train.y) and np.array_equal(y[val], expected.val.y)
    assert np.max(np.abs(x_train - expected.train.x)) < 1e-12
    assert np.max(np.abs(x_val - expected.val.x)) < 1e-12


def test_the_script_imports_only_torch_numpy_the_standard_library_and_the_model(
        batchnorm_mlp):
    tree = ast.parse(batchnorm_mlp.script.read_text())
    modules = {alias.name.split(".")[0] for node in ast.walk(tree)
               if isinstance(node, ast.Import) for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom)}
    outside = modules - set(sys.stdlib_module_names) - {"torch", "numpy"}
    assert outside == {batchnorm_mlp.model.stem}


BAD_DATA = {"three classes for one output": ("x,y,label\n0,1,0\n1,0,1\n2,2,2\n",
                                             "with 1 output can only tell 2 classes apart"),
            "a word in a cell": ("0,1,0\n1,zero,1\n", "row 2, column 2: 'zero' is not"),
            "a fractional label": ("0,1,0\n1,0,0.5\n", "row 2, column 3: label 0.5 is not")}


@pytest.mark.parametrize("case", BAD_DATA.values(), ids=BAD_DATA)
def test_bad_data_is_refused_with_exit_2_naming_what_and_where(tmp_path, capsys, case):
    text, message = case
    graph = tmp_path / "graph.json"
    graph.write_text((EXAMPLES / "two_layer_classifier.json").read_text())
    script = Exported(tmp_path, graph, tmp_path.name).load("train")
    (tmp_path / "bad.csv").write_text(text)
    assert script.main(["--dataset", str(tmp_path / "bad.csv"), "--out",
                        str(tmp_path / "never")]) == 2
    error = capsys.readouterr().err
    assert "bad.csv" in error and message in error and "Traceback" not in error
    assert not (tmp_path / "never").exists()


def test_a_weights_file_that_does_not_fit_is_refused_with_exit_2(tmp_path, capsys):
    exported = Exported(tmp_path, EXAMPLES / "moons_mlp.json", tmp_path.name)
    other = build_network(load_graph(EXAMPLES / "two_layer_classifier.json"))
    save_weights(other, tmp_path / "other.npz")
    script = exported.load("train")
    assert script.main(["--dataset", str(exported.data), "--weights",
                        str(tmp_path / "other.npz"), "--out", str(tmp_path / "never")]) == 2
    error = capsys.readouterr().err
    assert "other.npz: 'hidden/weight' has shape [4, 2]" in error and "Traceback" not in error
    assert not (tmp_path / "never").exists()


def test_a_loss_that_goes_non_finite_stops_with_exit_1_and_keeps_the_metrics(tmp_path, capsys):
    exported = Exported(tmp_path, EXAMPLES / "moons_mlp.json", tmp_path.name)
    huge = build_network(load_graph(exported.graph), seed=1)
    for node in huge.order:  # float32 logits overflow from the first batch on
        node.op.params.update({k: v * 1e38 for k, v in node.op.params.items()})
    save_weights(huge, tmp_path / "huge.npz")
    script = exported.load("train")
    assert script.main(["--dataset", str(exported.data), "--weights", str(tmp_path / "huge.npz"),
                        "--epochs", "3", "--out", str(tmp_path / "run")]) == 1
    assert "not finite" in capsys.readouterr().err
    fields, rows = metrics(tmp_path / "run")
    assert tuple(fields) == METRIC_FIELDS and len(rows) < 3


def test_help_says_how_to_launch_it(batchnorm_mlp, capsys):
    with pytest.raises(SystemExit) as done:
        batchnorm_mlp.load("train").parse_args(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "torchrun --standalone --nproc_per_node" in text and "--weight-decay" in text


def test_export_refuses_a_graph_bpviz_train_cannot_train(tmp_path, capsys):
    code = main(["export-torch", str(ROOT / "tests" / "data" / "every_loss.json"), "--out",
                 str(tmp_path / "model.py"), "--train-script", str(tmp_path / "train.py")])
    assert code == 2
    assert "one loss node, this one has" in capsys.readouterr().err
    assert not (tmp_path / "model.py").exists() and not (tmp_path / "train.py").exists()
