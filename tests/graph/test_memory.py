"""The memory estimate and the limit: sizes, the estimate's parts, refusals with exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main
from bpviz.graph import GraphDocument, load_graph, loads_graph
from bpviz.graph.memory import (
    Footprint,
    MemoryLimitError,
    evaluation_batch,
    fit,
    memory_limit,
    parse_size,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
VGG16 = EXAMPLES / "vgg16.json"


@pytest.mark.parametrize("text, size", [("2G", 2 * 2**30), ("512M", 512 * 2**20),
                                        ("1.5g", 3 * 2**29), ("64KiB", 65536), ("1000", 1000)])
def test_sizes_are_read_in_powers_of_1024(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "two gigs", "-1G", "0", "5X"])
def test_a_size_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_size(text)


def test_the_option_comes_before_the_environment_before_the_machine(monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "3G")
    assert memory_limit("1G").bytes == 2**30 and memory_limit("1G").source == "--max-memory"
    assert memory_limit().bytes == 3 * 2**30 and memory_limit().source == "BPVIZ_MAX_MEMORY"
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match="BPVIZ_MAX_MEMORY"):
        memory_limit()
    monkeypatch.delenv("BPVIZ_MAX_MEMORY")
    import psutil

    machine = memory_limit()
    assert machine.source == "available memory"
    assert 0 < machine.bytes < psutil.virtual_memory().total


def mlp(features: int, hidden: int) -> GraphDocument:
    nodes = [{"id": "x", "op": "input", "params": {"shape": [features]}},
             {"id": "fc", "op": "dense", "inputs": ["x"], "params": {"units": hidden}},
             {"id": "act", "op": "relu", "inputs": ["fc"]},
             {"id": "out", "op": "dense", "inputs": ["act"], "params": {"units": 10}},
             {"id": "loss", "op": "softmax_cross_entropy", "inputs": ["out"]}]
    return loads_graph(json.dumps({"format": "bpviz-graph", "version": 1, "name": "mlp",
                                   "nodes": nodes}))


def test_parameters_and_their_gradients_are_counted_by_hand():
    doc = mlp(100, 50)
    params = 100 * 50 + 50 + 50 * 10 + 10  # torch's count of two Linear layers
    estimate = Footprint(doc).estimate("session", 8, np.float32, runtime=0)
    assert estimate.parts["parameters"] == params * 4
    assert estimate.parts["parameter gradients"] == params * 4
    assert estimate.parts["batch"] == 8 * 100 * 4
    # dense, relu, dense, loss outputs: 50 + 50 + 10 + 1 values per sample
    assert estimate.parts["activations"] == 8 * (50 + 50 + 10 + 1) * 4
    train = Footprint(doc).estimate("train", 8, np.float32, optimizer="adam", runtime=0)
    assert train.parts["optimizer state"] == 2 * params * 4  # Adam's two moments
    paused = Footprint(doc).estimate("train", 8, np.float32, optimizer="adam+pause", runtime=0)
    assert paused.parts["trainer's copies"] == (2 + 2) * params * 4


@pytest.mark.parametrize("dtype, stage", [(np.float64, "the largest parameter gradient"),
                                          (np.float32, "one layer's weights in float64")])
def test_the_torch_check_counts_its_largest_stage_by_hand(dtype, stage):
    doc = mlp(1000, 2000)
    first = 1000 * 2000 + 2000  # the first Linear's weight and bias
    size = np.dtype(dtype).itemsize
    estimate = Footprint(doc).estimate("check", 8, dtype, runtime=0)
    # the checked precision's torch pass holds one layer's ∂L/∂θ (the engine's) in
    # that precision; the other precision's pass casts one layer's weights to float64
    assert estimate.parts[stage] == first * 8
    assert estimate.parts["parameters"] == (first + 2000 * 10 + 10) * size
    assert "parameter gradients" not in estimate.parts  # one layer's at a time
    values = 8 * (1000 + 2000 + 2000 + 10 + 1)  # the batch and every node's output
    kept = ("the other precision's results kept in float32" if dtype == np.float64
            else "its outputs and ∂L/∂out kept in float32")
    assert estimate.parts[kept] == 2 * values * 4  # outputs and ∂L/∂out
    assert estimate.parts["torch (the library)"] > 0
def test_an_evaluation_counts_the_outputs_alive_at_once_by_hand():
    doc = mlp(100, 50)
    train = Footprint(doc).estimate("train", 8, np.float32, optimizer="sgd", runtime=0)
    evaluated = Footprint(doc).estimate("train", 8, np.float32, optimizer="sgd", runtime=0,
                                        evaluation=1000)
    # fc's 50 outputs and act's 50 are alive together (act reads fc), then fewer;
    # 1000 samples of them and of the 100 inputs, in float32
    held = 1000 * (100 + 50 + 50) * 4
    # the training pass: its batch, every output, two of the largest (x) in flight
    training = (8 * 100 + 8 * (50 + 50 + 10 + 1) + 2 * 8 * 100) * 4
    assert evaluated.parts["evaluation beyond the training pass"] == held - training
    assert evaluated.total - train.total == held - training
    small = Footprint(doc).estimate("train", 8, np.float32, optimizer="sgd", runtime=0,
                                    evaluation=2)
    assert small.parts["evaluation beyond the training pass"] == 0  # less than training


def test_the_evaluation_batch_is_the_most_that_fits_beside_training():
    footprint = Footprint(load_graph(VGG16))
    limit = memory_limit("5G")
    size = evaluation_batch(footprint, 1, np.float32, limit, "adam", most=256)
    assert 1 < size < 256  # 256 images of 224×224 at once do not fit in 5 GiB

    def total(evaluation: int) -> int:
        return footprint.estimate("train", 1, np.float32, "adam", evaluation=evaluation).total

    assert total(size) <= limit.bytes < total(size + 1)
    assert evaluation_batch(footprint, 1, np.float32, memory_limit("100G"), "adam") == 256


def test_the_largest_batch_is_the_last_that_fits():
    footprint = Footprint(load_graph(VGG16))
    limit = 6 * 2**30
    largest = footprint.largest_batch("session", np.float32, limit, runtime=0)
    assert footprint.estimate("session", largest, np.float32, runtime=0).total <= limit
    assert footprint.estimate("session", largest + 1, np.float32, runtime=0).total > limit


def test_a_path_adds_its_own_part_and_the_largest_batch_follows():
    footprint = Footprint(load_graph(VGG16))
    limit = memory_limit("8G")
    plain = footprint.largest_batch("session", np.float32, limit.bytes)

    def copies(batch: int) -> dict[str, int]:
        return {"a second copy": footprint.activation_bytes(batch, np.float32)}

    with pytest.raises(MemoryLimitError) as caught:
        fit(footprint, "session", plain, np.float32, limit, extra=copies)
    assert caught.value.estimate.parts["a second copy"] > 0
    assert 0 < caught.value.largest < plain
    assert f"the largest batch that fits is {caught.value.largest}" in str(caught.value)


HEADS = {"check": [], "export": ["--to", "{tmp}/pass.npz"],
         "explain": ["--node", "fc8", "--tensor", "out", "--at", "0,0"]}


@pytest.mark.parametrize("command", ["check", "export", "explain"])
def test_a_batch_too_big_is_refused_with_exit_2_and_the_largest_that_fits(
        command, tmp_path, capsys):
    extra = [part.format(tmp=tmp_path) for part in HEADS[command]]
    code = main([command, str(VGG16), "--batch", "256", "--max-memory", "6G", *extra])
    error = capsys.readouterr().err
    assert code == 2
    assert f"not enough memory for bpviz {command}: a batch of 256 in float64" in error
    assert "over the limit of 6.00 GiB (--max-memory)" in error
    assert "the largest batch that fits is" in error and "Traceback" not in error
    assert not (tmp_path / "pass.npz").exists()


def test_training_too_big_is_refused_before_the_data_are_loaded(tmp_path, capsys):
    code = main(["train", str(VGG16), "--dataset", "digits", "--batch", "256",
                 "--max-memory", "6G", "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2
    assert "not enough memory for bpviz train: a batch of 256 in float32" in error
    assert "optimizer state" in error and "the largest batch that fits is" in error
    assert not (tmp_path / "run").exists()


def test_a_limit_that_is_not_a_size_is_refused(capsys):
    assert main(["check", str(EXAMPLES / "tiny_cnn.json"), "--max-memory", "much"]) == 2
    assert "--max-memory: expected a size like 512M" in capsys.readouterr().err


def test_a_run_within_the_limit_goes_ahead(capsys):
    assert main(["check", str(EXAMPLES / "tiny_cnn.json"), "--max-memory", "4G"]) == 0
    assert "engine and torch agree" in capsys.readouterr().out
