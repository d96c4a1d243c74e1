"""import-torch and export-torch from the command line: files written, clear refusals, exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from torch import nn

from bpviz.cli import main
from bpviz.oracle.importer import InteropError, import_module

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "resources" / "examples"

MODELS_PY = '''\
import torch
import torch.nn.functional as F
from torch import nn


class Small(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.view(x.size(0), -1))


class WithLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(4, 4)

    def forward(self, x):
        out, _ = self.rnn(x)
        return out


class WithSin(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return torch.sin(self.fc(x))


def make_small():
    return Small()


def broken():
    raise RuntimeError("no GPU here")


def not_a_module():
    return 42
'''


@pytest.fixture
def models(tmp_path) -> Path:
    path = tmp_path / "models.py"
    path.write_text(MODELS_PY)
    return path


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_import_writes_a_graph_and_weights_that_check(capsys, tmp_path, models):
    graph, weights = tmp_path / "small.json", tmp_path / "small.npz"
    code, out, _ = run(capsys, "import-torch", f"{models}:make_small", "--input-shape", 1, 8, 8,
                       "--out", graph, "--weights", weights)
    assert code == 0 and "small.json" in out
    code, out, _ = run(capsys, "check", graph, "--weights", weights, "--json", "--eval")
    assert code == 0 and json.loads(out)["ok"]
    code, out, _ = run(capsys, "info", graph, "--json")
    # conv 3·1·9 + 3 = 30, batchnorm 2·3 = 6, fc 2·48 + 2 = 98
    assert json.loads(out)["total_params"] == 30 + 6 + 98


def test_import_by_module_name_and_class(capsys, tmp_path, models, monkeypatch):
    monkeypatch.chdir(models.parent)
    monkeypatch.delitem(sys.modules, "models", raising=False)
    code, _, err = run(capsys, "import-torch", "models:Small", "--input-shape", 1, 8, 8,
                       "--out", tmp_path / "g.json")
    assert code == 0, err
    assert (tmp_path / "g.json").is_file()


@pytest.mark.parametrize(("factory", "shape", "expected"), [
    ("WithLSTM", [4], ["torch.nn.modules.rnn.LSTM module 'rnn' is not supported",
                       "fx node 'rnn'", "models.py:", "out, _ = self.rnn(x)"]),
    ("WithSin", [4], ["torch.sin is not supported", "fx node 'sin'",
                      "return torch.sin(self.fc(x))", "It supports modules nn.Linear"]),
    ("broken", [4], ["calling", "RuntimeError: no GPU here"]),
    ("not_a_module", [4], ["returned int, not a torch nn.Module"]),
    ("missing", [4], ["has no 'missing'"]),
    ("Small", [1, 8], ["--input-shape takes C H W (an image) or F (features), got 2"]),
    ("Small", [4], ["needs an image batch [N, C, H, W], got [N, 4]"]),
])
def test_import_refusals_exit_2_with_a_named_reason(capsys, tmp_path, models, factory, shape,
                                                     expected):
    out_path = tmp_path / "never.json"
    code, _, err = run(capsys, "import-torch", f"{models}:{factory}", "--input-shape", *shape,
                       "--out", out_path)
    assert code == 2
    for text in expected:
        assert text in err
    assert not out_path.exists()


@pytest.mark.parametrize(("spec", "expected"), [
    ("nothing_here.py:make", "does not exist"),
    ("no_colon", "expected SOURCE:FACTORY"),
    ("no_such_module_xyz:make", "ModuleNotFoundError"),
])
def test_bad_sources(capsys, tmp_path, spec, expected):
    code, _, err = run(capsys, "import-torch", spec, "--input-shape", 3, "--out",
                       tmp_path / "g.json")
    assert code == 2 and expected in err


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(nn.init.ones_(nn.Linear(1, 3).bias.detach().clone()))

    def forward(self, x):
        return x * self.scale


class Branchy(nn.Module):
    def forward(self, x):
        return x.relu() if x.sum() > 0 else x


def one_layer(layer: nn.Module, *, after=None):
    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = layer

        def forward(self, x):
            y = self.layer(x)
            return after(y) if after else y

    return Wrapper()


@pytest.mark.parametrize(("model", "shape", "expected"), [
    (Scaled(), (3,), "forward reads 'self.scale' directly"),
    (Branchy(), (3,), "torch.fx cannot trace Branchy"),
    (one_layer(nn.Conv2d(2, 2, 3, groups=2)), (2, 5, 5), "groups=2"),
    (one_layer(nn.Conv2d(1, 1, 2, padding="same")), (1, 5, 5), "even kernel"),
    (one_layer(nn.MaxPool2d(2, ceil_mode=True)), (1, 5, 5), "ceil_mode=True"),
    (one_layer(nn.AvgPool2d(3, padding=1, count_include_pad=False)), (1, 5, 5),
     "count_include_pad=False"),
    (one_layer(nn.BatchNorm2d(1, affine=False)), (1, 3, 3), "affine=True"),
    (one_layer(nn.Softmax(dim=0)), (3,), "softmax over dim=0"),
    (one_layer(nn.Linear(3, 2), after=lambda y: y + 1), (3,), "adding a constant"),
    (one_layer(nn.Conv2d(1, 2, 3), after=lambda y: y.view(y.size(0), 2, -1)), (1, 5, 5),
     "view/reshape of [N, 2, 3, 3] to [N, 2, -1]"),
    (one_layer(nn.Conv2d(1, 2, 3), after=lambda y: y[:, 0]), (1, 5, 5), "indexing or slicing"),
    (one_layer(nn.Conv2d(1, 2, 3), after=lambda y: y.mean(1)), (1, 5, 5), "mean over 1"),
])
def test_unsupported_constructs_are_named(model, shape, expected):
    with pytest.raises(InteropError) as caught:
        import_module(model, shape)
    assert expected in str(caught.value)


def test_ceil_mode_is_accepted_when_it_changes_nothing():
    doc = import_module(one_layer(nn.MaxPool2d(2, ceil_mode=True)), (1, 6, 6)).document
    assert doc.nodes["layer"].params == {"kernel": 2}


def test_export_writes_a_module_and_checks_the_weights(capsys, tmp_path):
    graph = EXAMPLES / "tiny_cnn.json"
    weights = tmp_path / "w.npz"
    from bpviz.graph import build_network, load_graph
    from bpviz.graph.weights import save_weights

    save_weights(build_network(load_graph(graph)), weights)
    code, out, _ = run(capsys, "export-torch", graph, "--out", tmp_path / "m.py",
                       "--weights", weights)
    assert code == 0 and "class TinyCNNFor8x8Digits" in out
    text = (tmp_path / "m.py").read_text()
    assert "self.c1 = nn.Conv2d(1, 8, kernel_size=3, padding=1)" in text
    assert "c1 = self.c1(x)  # conv2d: [N, 8, 8, 8]" in text
    assert "'c1/weight': 'c1.weight'," in text and "allow_pickle=False" in text
    other = EXAMPLES / "two_layer_classifier.json"
    code, _, err = run(capsys, "export-torch", other, "--out", tmp_path / "m2.py",
                       "--weights", weights)
    assert code == 2 and "which the graph does not have" in err
    assert not (tmp_path / "m2.py").exists()


def test_export_refuses_an_invalid_graph(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "bpviz-graph", "version": 1, "nodes": []}')
    code, _, err = run(capsys, "export-torch", bad, "--out", tmp_path / "m.py")
    assert code == 2 and "no input node" in err


def test_ids_become_python_names(tmp_path):
    from bpviz.graph import GraphDocument, NodeData
    from bpviz.oracle.exporter import export_torch, identifiers

    doc = GraphDocument("odd ids", [
        NodeData("x-in", "input", params={"shape": [3]}),
        NodeData("eval", "dense", ["x-in"], {"units": 2}),
        NodeData("2nd", "relu", ["eval"]),
        NodeData("class", "sigmoid", ["2nd"])])
    names = identifiers(doc)
    assert names == {"x-in": "x_in", "eval": "eval_", "2nd": "n_2nd", "class": "class_"}
    text = export_torch(doc)
    assert "'eval/weight': 'eval_.weight'" in text
    compile(text, "generated.py", "exec")


def test_cli_start_up_does_not_import_torch():
    code = ("import sys, bpviz.cli; bpviz.cli.build_parser(); "
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] == 'torch')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=ROOT)
    assert result.stdout.strip() == ""


def test_help_lists_what_import_supports(capsys):
    with pytest.raises(SystemExit):
        main(["import-torch", "--help"])
    out = capsys.readouterr().out
    assert "nn.Conv2d" in out and "torch.cat" in textwrap.dedent(out).replace("\n", " ")
