"""torch → bpviz → torch: imported models compute what torch computes, exports round-trip.

"The same document" after an export and an import back (see same_graph):
loss nodes left out (a module's forward never holds them; the exported
`loss` method does), the nodes, in topological order, pair up one to one with
the same op, the same parameters once defaults are filled in and pooling's
derived stride resolved (stride = kernel) and pairs [k, k] written k, the same
trainable flag, and inputs that are the paired nodes in the same port order.
Ids are kept for the input and every node that is a torch module; add, concat
and global average pooling are expressions in forward, so fx names them (add,
cat, mean, …). Graph name, description and node positions are not carried.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bpviz.engine import OPS, Executor
from bpviz.engine.op import check_hypers, pair
from bpviz.graph import GraphDocument, build_network, load_graph
from bpviz.graph.batch import random_batch
from bpviz.graph.weights import load_weights, network_tensors, save_weights
from bpviz.oracle.exporter import interface, write_export
from bpviz.oracle.importer import import_module, save_import

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-10


# -- models as people write them ------------------------------------------------
class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.bn = nn.BatchNorm1d(7, eps=1e-3, momentum=0.3)
        self.act = nn.LeakyReLU(0.2)
        self.drop = nn.Dropout(0.3)
        self.fc2 = nn.Linear(7, 6, bias=False)
        self.fc3 = nn.Linear(6, 4)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        h = self.drop(self.act(self.bn(self.fc1(x))))
        h = F.relu(torch.tanh(torch.sigmoid(self.fc2(h))))
        return self.soft(self.fc3(h.relu()))


class CNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 6, 3, padding=2, dilation=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 8, (3, 2), stride=(2, 1), padding=(1, 0))
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)
        self.conv3 = nn.Conv2d(8, 8, 3, padding="same", bias=False)
        self.avg = nn.AvgPool2d(2, stride=1, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(8, 3)

    def forward(self, x):  # 2×13×13 → 6×13×13 → 8×7×12 → 4×6 → 4×6 → 5×7 → 2×3
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.relu(self.conv2(x)))
        x = F.avg_pool2d(self.avg(self.conv3(x)), 2)
        return self.fc(self.flat(self.gap(x)))


class Functional(nn.Module):
    """Every way of flattening and pooling in forward; fc is called twice."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.fc = nn.Linear(16, 5)
        self.fc2 = nn.Linear(4, 5)

    def forward(self, x):  # 3×8×8 → 4×6×6 → 4×5×5 → 4×2×2
        y = F.leaky_relu(self.conv(x), 0.05)
        b = F.avg_pool2d(F.max_pool2d(y, kernel_size=2, stride=1), 2)
        flat1 = b.view(b.size(0), -1)
        flat2 = torch.flatten(F.adaptive_avg_pool2d(y, 1), 1)
        flat3 = y.mean((2, 3))
        flat4 = b.reshape(b.shape[0], -1)
        out = torch.add(self.fc(flat1), self.fc(flat4)) + self.fc2(flat2) + self.fc2(flat3)
        return F.softmax(out, dim=1), torch.flatten(b, 1)


class Residual(nn.Module):
    def __init__(self, channels=4):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.shortcut = nn.Identity()

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        out = F.relu(out)
        return out + x + out  # one add node with three inputs


class Dense(nn.Module):
    def __init__(self, channels=3, growth=2, layers=3):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(channels + i * growth), nn.ReLU(),
                          nn.Conv2d(channels + i * growth, growth, 3, padding=1))
            for i in range(layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))
        return torch.cat(features, dim=1)


MODELS = {"mlp": (MLP, (5,)), "cnn": (CNN, (2, 13, 13)), "functional": (Functional, (3, 8, 8)),
          "residual": (Residual, (4, 6, 6)), "dense": (Dense, (3, 5, 5))}


def randomised(model: nn.Module, seed: int = 0) -> nn.Module:
    """float64, with every parameter and running statistic random (no zeros or ones)."""
    generator = torch.Generator().manual_seed(seed)
    model = model.double()
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                fresh = torch.randn(tensor.shape, generator=generator, dtype=torch.float64)
                tensor.copy_(fresh.abs() + 0.5 if name.endswith("running_var") else fresh * 0.5)
    return model


def engine_run(result, weights_dir: Path, x: np.ndarray, training: bool) -> Executor:
    save_import(result, weights_dir / "graph.json", weights_dir / "w.npz")
    network = build_network(load_graph(weights_dir / "graph.json"))
    load_weights(network, weights_dir / "w.npz")
    network.set_training(training)
    executor = Executor(network)
    executor.run({network.inputs[0]: x}, backward=False)
    return executor


@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
@pytest.mark.parametrize("name", MODELS)
def test_imported_model_computes_what_torch_computes(tmp_path, name, training):
    cls, shape = MODELS[name]
    model = randomised(cls())
    if training and name == "mlp":
        model.drop.p = 0.0  # dropout masks differ between the two
    model.train(training)
    result = import_module(model, shape)
    x = np.random.default_rng(1).standard_normal((4, *shape))
    executor = engine_run(result, tmp_path, x, training)
    expected = model(torch.tensor(x))
    expected = expected if isinstance(expected, tuple) else (expected,)
    assert len(result.outputs) == len(expected)
    for node_id, tensor in zip(result.outputs, expected):
        ours = executor.values[node_id]
        assert np.max(np.abs(ours.reshape(tensor.shape) - tensor.detach().numpy())) < TOL
    if training:  # the running statistics moved the same way
        state = model.state_dict()
        for key, value in network_tensors(executor.network).items():
            node, _, param = key.partition("/")
            if param.startswith("running"):
                module = result.document.nodes[node]
                assert module.op == "batchnorm"
                torch_key = next(k for k in state if k.replace(".", "_") == f"{node}_{param}")
                assert np.allclose(value, state[torch_key].numpy(), atol=TOL)


def test_import_names_and_structure():
    doc = import_module(Residual(), (4, 6, 6)).document
    # Layers are named by their module path, functions by fx ('+=' is traced as '+').
    assert list(doc.nodes) == ["x", "conv1", "bn1", "relu", "conv2", "bn2", "add", "relu_1",
                               "add_1"]
    assert doc.nodes["add"].inputs == ["bn2", "x"]  # the shortcut; nn.Identity adds nothing
    assert doc.nodes["add_1"].inputs == ["relu_1", "x", "relu_1"]  # out + x + out, folded
    dense = import_module(Dense(), (3, 5, 5)).document
    assert dense.nodes["layers_0_0"].inputs == ["x"]  # cat of one tensor adds nothing
    assert dense.nodes["cat_3"].inputs == ["x", "layers_0_2", "layers_1_2", "layers_2_2"]
    functional = import_module(Functional(), (3, 8, 8)).document
    ops = [node.op for node in functional.nodes.values()]
    assert ops.count("global_avgpool") == 2 and ops.count("dense") == 4
    assert ops.count("flatten") == 3  # view, reshape and flatten of b; none after pooling


def test_frozen_layers_import_as_not_trainable():
    model = MLP()
    model.fc1.requires_grad_(False)
    doc = import_module(model, (5,)).document
    assert not doc.nodes["fc1"].trainable and doc.nodes["fc2"].trainable


# -- bpviz → torch → bpviz ----------------------------------------------------
EXPORTED = [ROOT / "resources" / "examples" / f"{name}.json" for name in
            ("two_layer_classifier", "mlp_softmax", "dilated_convolutions", "tiny_cnn",
             "resnet_blocks", "densenet_block")] + [
    ROOT / "tests" / "data" / f"{name}.json" for name in ("residual_concat_cnn", "every_loss")]
HAS_DROPOUT = {"residual_concat_cnn", "every_loss"}


def canonical(doc: GraphDocument) -> list[tuple]:
    """Per non-loss node in topological order: op, filled params, trainable, input positions."""
    order = [i for i in doc.topological_ids() if not OPS[doc.nodes[i].op].is_loss]
    position = {node_id: k for k, node_id in enumerate(order)}
    rows = []
    for node_id in order:
        node = doc.nodes[node_id]
        params = check_hypers(OPS[node.op], node.params)
        if node.op in ("maxpool2d", "avgpool2d") and params["stride"] is None:
            params["stride"] = params["kernel"]
        params = {k: pair(v) if isinstance(v, (int, list)) and k in ("kernel", "stride",
                  "padding", "dilation") else v for k, v in params.items()}
        rows.append((node.op, params, node.trainable, [position[s] for s in node.inputs]))
    return rows


def same_graph(original: GraphDocument, again: GraphDocument) -> None:
    assert canonical(again) == canonical(original)
    kept = [i for i in original.topological_ids() if original.nodes[i].op not in
            ("add", "concat", "global_avgpool") and not OPS[original.nodes[i].op].is_loss]
    assert [i for i in again.topological_ids() if again.nodes[i].op not in
            ("add", "concat", "global_avgpool")] == kept


def load_generated(path: Path):
    spec = importlib.util.spec_from_file_location(f"generated_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exported(tmp_path: Path, graph: Path, seed: int = 1):
    """(document, network with random weights, generated module, torch model with them)."""
    doc = load_graph(graph)
    network = build_network(doc, seed=seed)
    rng = np.random.default_rng(seed)
    for node in network.order:
        for store in (node.op.params, node.op.buffers):
            for key, value in store.items():
                fresh = rng.standard_normal(value.shape) * 0.5
                store[key] = np.abs(fresh) + 0.5 if key == "running_var" else fresh
    save_weights(network, tmp_path / "w.npz")
    class_name = write_export(doc, tmp_path / "model.py", tmp_path / "w.npz")
    generated = load_generated(tmp_path / "model.py")
    model = getattr(generated, class_name)().double()
    generated.load_bpviz_weights(model, str(tmp_path / "w.npz"))
    return doc, network, generated, model


@pytest.mark.parametrize("graph", EXPORTED, ids=lambda p: p.stem)
def test_export_then_import_gives_the_same_graph_and_weights(tmp_path, graph):
    doc, network, _, model = exported(tmp_path, graph)
    shape = doc.nodes[interface(doc)[0][0]].params["shape"]
    result = import_module(model, shape)
    same_graph(doc, result.document)
    ours = network_tensors(network)
    assert set(result.weights) == set(ours)
    for key, value in ours.items():
        assert np.array_equal(result.weights[key], value)


@pytest.mark.parametrize("graph", EXPORTED, ids=lambda p: p.stem)
def test_exported_module_gives_the_engines_outputs_and_gradients(tmp_path, graph):
    doc, network, generated, model = exported(tmp_path, graph)
    training = graph.stem not in HAS_DROPOUT
    network.set_training(training)
    model.train(training)
    feeds, targets = random_batch(network, 5, seed=2, dtype=np.float64)
    executor = Executor(network)
    loss = executor.run(feeds, targets)
    inputs, outputs, losses = interface(doc)
    output = model(*[torch.tensor(feeds[i]) for i in inputs])
    values = output if isinstance(output, tuple) else (output,)
    for node_id, tensor in zip(outputs, values, strict=True):
        assert np.max(np.abs(executor.values[node_id] - tensor.detach().numpy())) < TOL
    if losses:
        given = [torch.tensor(targets[i]) for i in losses]
        total = model.loss(output, given[0] if len(given) == 1 else tuple(given))
    else:
        total = sum(tensor.sum() for tensor in values)
    total.backward()
    assert abs(total.item() - loss) < TOL * max(1.0, abs(loss))
    parameters = dict(model.named_parameters())
    checked = 0
    for key, name in generated.BPVIZ_KEYS.items():
        node, _, param = key.partition("/")
        if name in parameters:
            grad = parameters[name].grad.numpy()
            assert np.max(np.abs(network.nodes[node].op.grads[param] - grad)) < TOL, key
            checked += 1
    assert checked == len(network.parameters())
