"""The bundled examples: each loads, agrees with torch, and shows the figures it describes.

Every figure is derived by hand in the test (the arithmetic is in the comments)
or taken from the paper it comes from, never from bpviz's own output.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

from bpviz.cli import main
from bpviz.engine import Executor
from bpviz.graph import build_network, estimate_bytes, load_graph
from bpviz.graph.limits import MAX_BYTES
from bpviz.graph.weights import load_weights, read_npz

EXAMPLES = Path(__file__).resolve().parent.parent / "resources" / "examples"
ALL = sorted(EXAMPLES.glob("*.json"))
TOO_BIG_TO_RUN = {"vgg16", "resnet50"}


def run(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out


def info(capsys, name: str) -> tuple[int, dict[str, dict]]:
    code, out = run(capsys, "info", EXAMPLES / f"{name}.json", "--json")
    assert code == 0
    data = json.loads(out)
    return data["total_params"], {node["id"]: node for node in data["nodes"]}


def field(node: dict) -> int:
    size = node["receptive_field"]["size"]
    assert size[0] == size[1]
    return size[0]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_example_loads(path):
    doc = load_graph(path)
    assert doc.nodes and doc.name


@pytest.mark.parametrize("path", [p for p in ALL if p.stem not in TOO_BIG_TO_RUN],
                         ids=lambda p: p.stem)
def test_every_runnable_example_agrees_with_torch(capsys, path):
    code, out = run(capsys, "check", path, "--json", "--batch", "4")
    assert code == 0, out
    assert json.loads(out)["ok"]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.stem)
def test_every_example_has_a_description_of_one_paragraph(path):
    description = load_graph(path).description
    assert len(description) > 200 and "\n" not in description


def test_tiny_cnn_counts_as_its_description_says(capsys):
    total, nodes = info(capsys, "tiny_cnn")
    # c1: 8 filters of 1·3·3 and 8 biases = 80; fc: 8·4·4 = 128 inputs · 10 + 10 = 1290
    assert (nodes["c1"]["params"], nodes["fc"]["params"], total) == (80, 1290, 1370)
    description = load_graph(EXAMPLES / "tiny_cnn.json").description
    assert "1,370 parameters" in description and "8·1·9 + 8 = 80" in description


def test_two_layer_classifier_is_the_lectures(capsys):
    total, nodes = info(capsys, "two_layer_classifier")
    # W_H 4×2 + b_H 4 = 12; W_O 1×4 + b_O 1 = 5.
    assert (nodes["hidden"]["params"], nodes["out"]["params"], total) == (12, 5, 17)
    assert [nodes[i]["op"] for i in ("u_H", "y_hat", "loss")] == ["sigmoid", "sigmoid", "bce"]
    assert "17 parameters" in load_graph(EXAMPLES / "two_layer_classifier.json").description


def test_mlp_softmax_counts_and_its_softmax_branch(capsys):
    total, nodes = info(capsys, "mlp_softmax")
    # 2·16 + 16 = 48, 16·16 + 16 = 272, 16·3 + 3 = 51; 48 + 272 + 51 = 371.
    assert [nodes[i]["params"] for i in ("h1", "h2", "z_O")] == [48, 272, 51]
    assert total == 371
    network = build_network(load_graph(EXAMPLES / "mlp_softmax.json"), seed=3)
    x = np.random.default_rng(0).standard_normal((6, 2))
    y = np.array([0, 1, 2, 0, 1, 2])
    executor = Executor(network)
    loss = executor.run({"x": x}, {"loss": y}, backward=True)
    probs = executor.values["probs"]
    assert np.allclose(probs.sum(axis=1), 1.0)
    # The loss node takes logits: it equals the mean of −ln ŷ_y from the explicit branch.
    assert loss == pytest.approx(-np.mean(np.log(probs[np.arange(6), y])), rel=1e-12)
    # ∂L/∂z_O = (ŷ − one_hot(y)) / N, the branch adds nothing.
    assert np.allclose(executor.grads["z_O"], (probs - np.eye(3)[y]) / 6)
    assert not np.any(executor.grads["probs"])


def test_dilated_fields_grow_exponentially_at_equal_cost(capsys):
    _, nodes = info(capsys, "dilated_convolutions")
    # r' = r + (k_eff − 1), k_eff = 2d + 1: 1 + 2 = 3, 3 + 4 = 7, 7 + 8 = 15.
    assert [field(nodes[f"dil{i}"]) for i in (1, 2, 3)] == [3, 7, 15]
    # Plain: K + 2L⌊K/2⌋ = 3 + 2(L − 1) for L = 1, 2, 3 counting from the first layer.
    assert [field(nodes[f"plain{i}"]) for i in (1, 2, 3)] == [3, 5, 7]
    # out·in·k·k + out: 4·1·9 + 4 = 40, then 4·4·9 + 4 = 148.
    assert [nodes[f"dil{i}"]["params"] for i in (1, 2, 3)] == [40, 148, 148]
    assert [nodes[f"plain{i}"]["params"] for i in (1, 2, 3)] == [40, 148, 148]


def test_resnet_blocks_match_the_papers_figure_5(capsys):
    total, nodes = info(capsys, "resnet_blocks")
    basic = sum(nodes[f"basic_conv{i}"]["params"] for i in (1, 2))
    bottle = sum(nodes[f"bottle_conv{i}"]["params"] for i in (1, 2, 3))
    assert basic == 2 * (64 * 64 * 3 * 3) == 73_728  # two 3×3, 64 → 64, no bias
    assert bottle == 256 * 64 + 64 * 64 * 3 * 3 + 64 * 256 == 69_632  # 1×1, 3×3, 1×1
    # BN has γ and β per channel: basic 2·(2·64) = 256, widen 2·256 = 512,
    # bottleneck 2·64 + 2·64 + 2·256 = 768; widen conv 64·256 = 16,384; fc 256·10 + 10.
    assert total == basic + 256 + 16_384 + 512 + bottle + 768 + 2_570 == 163_850
    doc = load_graph(EXAMPLES / "resnet_blocks.json")
    assert doc.nodes["basic_add"].inputs == ["basic_bn2", "x"]  # identity shortcuts
    assert doc.nodes["bottle_add"].inputs == ["bottle_bn3", "widen_relu"]
    assert "73,728" in doc.description and "69,632" in doc.description


def test_densenet_block_is_dense_with_growth_rate_4(capsys):
    total, nodes = info(capsys, "densenet_block")
    doc = load_graph(EXAMPLES / "densenet_block.json")
    for layer in range(2, 6):  # layer ℓ reads the input and every earlier layer
        assert doc.nodes[f"cat{layer}"].inputs == ["x"] + [f"h{i}_conv" for i in range(1, layer)]
        assert nodes[f"cat{layer}"]["output_shape"] == [8 + 4 * (layer - 1), 8, 8]
    assert nodes["block_out"]["output_shape"] == [8 + 5 * 4, 8, 8]  # 28 channels
    assert nodes["trans_pool"]["output_shape"] == [14, 4, 4]
    # 4 filters of 3×3 over 8, 12, 16, 20, 24 channels: 4·9·80 = 2,880; the 1×1 transition 14·28.
    assert sum(nodes[f"h{i}_conv"]["params"] for i in range(1, 6)) == 4 * 9 * 80 == 2_880
    assert nodes["trans_conv"]["params"] == 14 * 28 == 392
    # BN: 2·80 in the block, 2·28 in the transition; fc 14·10 + 10 = 150.
    assert total == 160 + 2_880 + 56 + 392 + 150 == 3_638
    # Each 3×3 layer widens the field by 2; the 2×2 pool by 1 more.
    assert [field(nodes[f"h{i}_conv"]) for i in range(1, 6)] == [3, 5, 7, 9, 11]
    assert field(nodes["trans_pool"]) == 12
    consumers = doc.consumers()
    assert len(consumers["h1_conv"]) == 5 and len(consumers["x"]) == 6


# VGG16, configuration D: (convolutions, channels) per block, each block then a 2×2 pool.
VGG_BLOCKS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]


def vgg_hand_figures() -> dict[str, int]:
    conv_params, activations, channels, size = 0, 3 * 224 * 224, 3, 224  # the input
    field, jump = 1, 1
    for convs, width in VGG_BLOCKS:
        for _ in range(convs):
            conv_params += width * channels * 3 * 3 + width  # out·in·k·k + out
            channels = width
            activations += 2 * width * size * size  # conv output and its ReLU
            field += 2 * jump  # a 3×3 kernel adds (k − 1)·jump
        size //= 2
        activations += width * size * size  # the pool
        field, jump = field + jump, jump * 2  # a 2×2 pool adds (2 − 1)·jump, doubles the jump
    # fc6 25,088 → 4096, fc7 4096 → 4096, fc8 4096 → 1000, each in·out + out.
    dense = (25_088 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 1000 + 1000)
    # flatten 25,088; fc, ReLU, dropout of 4096 twice; fc8 1000; the loss 1.
    activations += 25_088 + 2 * 3 * 4096 + 1000 + 1
    return {"conv": conv_params, "dense": dense, "activations": activations, "field": field}


def test_vgg16_figures_from_the_published_configuration(capsys):
    hand = vgg_hand_figures()
    assert hand["conv"] == 14_714_688 and hand["dense"] == 123_642_856
    assert hand["conv"] + hand["dense"] == 138_357_544  # the published count
    assert hand["field"] == 212
    total, nodes = info(capsys, "vgg16")
    assert total == 138_357_544
    assert field(nodes["pool5"]) == 212 and nodes["pool5"]["output_shape"] == [512, 7, 7]
    assert [field(nodes[f"pool{i}"]) for i in range(1, 6)] == [6, 16, 44, 100, 212]
    assert nodes["fc6"]["params"] == 25_088 * 4096 + 4096 == 102_764_544


def test_vgg16_is_too_big_for_a_large_batch():
    hand = vgg_hand_figures()
    assert hand["activations"] == 28_826_601
    doc = load_graph(EXAMPLES / "vgg16.json")
    # The estimate is parameters plus activations of one sample, 8 bytes each in float64.
    estimate = estimate_bytes(doc)
    assert estimate == (138_357_544 + hand["activations"]) * 8
    assert round(estimate / 2**30, 2) == 1.25
    per_image = hand["activations"] * 8
    assert round(per_image / 2**20) == 220 and round(138_357_544 * 8 / 2**30, 2) == 1.03
    assert (MAX_BYTES - 138_357_544 * 8) // per_image == 13
    assert round(256 * per_image / 2**30) == 55
    for figure in ("138,357,544", "212×212", "28,826,601", "220 MiB", "1.03 GiB",
                   "1.25 GiB", "only 13 images", "55 GiB"):
        assert figure in doc.description
    assert math.isclose(estimate, estimate_bytes(doc, "float32") * 2)


# -- transfer learning: digits 0–4 → 5–9 ----------------------------------------
def load_script(name: str):
    path = EXAMPLES.parent.parent / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"script_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def val_accuracy(run_dir: Path) -> float:
    """The last epoch's validation accuracy in percent, from bpviz train's metrics.csv."""
    with (run_dir / "metrics.csv").open() as handle:
        return 100 * float(list(csv.DictReader(handle))[-1]["val_acc"])


def train(capsys, graph: str, data: Path, out: Path, *extra) -> float:
    code, _ = run(capsys, "train", EXAMPLES / f"{graph}.json", "--dataset", data, "--seed", 0,
                  "--out", out, *extra)
    assert code == 0
    return val_accuracy(out)


def test_transfer_example_freezes_the_features_and_ships_their_weights(capsys):
    transfer = load_graph(EXAMPLES / "transfer_digits.json")
    source = load_graph(EXAMPLES / "transfer_digits_source.json")
    frozen = [i for i, node in transfer.nodes.items() if not node.trainable]
    assert frozen == ["conv1", "conv2"] and all(n.trainable for n in source.nodes.values())
    total, nodes = info(capsys, "transfer_digits")
    # out·in·k·k + out: 16·1·9 + 16 = 160, 32·16·9 + 32 = 4,640; fc 32·5 + 5 = 165.
    assert [nodes[i]["params"] for i in ("conv1", "conv2", "fc")] == [160, 4_640, 165]
    assert total == 4_965 and "(32·5 + 5 = 165 of 4,965 parameters)" in transfer.description
    for doc in (transfer, source):  # the shipped weights fit both graphs
        load_weights(build_network(doc), EXAMPLES / "transfer_digits.npz")


@pytest.fixture(scope="module")
def digit_splits(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("data")
    assert load_script("make_digit_splits").main(["--out", str(out)]) == 0
    return out


def test_digit_splits_hold_each_half_relabelled(digit_splits):
    with np.load(digit_splits / "digits_5_9.npz") as data:
        x, y = data["x"], data["y"]
    assert x.shape[1:] == (1, 8, 8) and sorted(set(y.tolist())) == [0, 1, 2, 3, 4]
    with np.load(digit_splits / "digits_0_4.npz") as data:
        assert len(data["y"]) + len(y) == 1797  # scikit-learn's digits, all of them


# The description's figures; a rerun may differ slightly where float32 rounding differs.
CLOSE = 1.5  # percentage points


def test_transfer_accuracies_are_as_described(capsys, tmp_path, digit_splits):
    data = digit_splits / "digits_5_9.npz"
    budget = ("--epochs", 5, "--val-fraction", 0.5)
    weights = EXAMPLES / "transfer_digits.npz"
    with_transfer = train(capsys, "transfer_digits", data, tmp_path / "t", *budget,
                          "--weights", weights)
    without = train(capsys, "transfer_digits", data, tmp_path / "r", *budget)
    scratch = train(capsys, "transfer_digits_source", data, tmp_path / "s", *budget)
    description = load_graph(EXAMPLES / "transfer_digits.json").description
    for value, figure in ((with_transfer, 74.1), (without, 48.9), (scratch, 92.2)):
        assert abs(value - figure) <= CLOSE and f"{figure}%" in description
    assert with_transfer > without + 10


def test_shipped_weights_come_from_the_documented_commands(capsys, tmp_path, digit_splits):
    source = train(capsys, "transfer_digits_source", digit_splits / "digits_0_4.npz",
                   tmp_path / "source", "--epochs", 20)
    assert abs(source - 99.4) <= CLOSE
    weights = tmp_path / "transfer.npz"
    moved = load_script("make_transfer_weights").transfer(
        str(tmp_path / "source" / "weights.npz"), str(EXAMPLES / "transfer_digits.json"),
        str(weights))
    assert moved == ["conv1", "conv2"]
    shipped, again = read_npz(EXAMPLES / "transfer_digits.npz", "w"), read_npz(weights, "w")
    assert np.array_equal(shipped["fc/weight"], again["fc/weight"])  # fresh from seed 0
    accuracy = train(capsys, "transfer_digits", digit_splits / "digits_5_9.npz",
                     tmp_path / "t", "--epochs", 5, "--val-fraction", 0.5, "--weights", weights)
    assert abs(accuracy - 74.1) <= CLOSE
