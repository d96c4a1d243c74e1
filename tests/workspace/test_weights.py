"""The weights a workspace holds: loaded, imported, trained; which one a pass and a run use."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bpviz.data.fit import load_for_input
from bpviz.data.prep import Normalizer
from bpviz.graph import build_network
from bpviz.graph.weights import network_tensors, save_weights
from bpviz.workspace.trained import TrainedWeights
from tests.workspace.conftest import example


def weights_file(tmp_path, name: str, seed: int):
    """A weights file of the example `name` with the initial weights of `seed`."""
    network = build_network(example(name), seed=seed)
    path = tmp_path / f"{name}_{seed}.npz"
    save_weights(network, path)
    return str(path), network_tensors(network)


def trained(name: str, seed: int) -> TrainedWeights:
    """Weights 'trained' on moons: the initial weights of `seed`, standardised as is."""
    doc = example(name)
    config = SimpleNamespace(dataset="moons", seed=0, val_fraction=0.2)
    return TrainedWeights(build_network(doc, seed=seed), doc.copy(), config,
                          Normalizer(np.zeros(2), np.ones(2)), 10)


def assert_pass_holds(workspace, tensors: dict) -> None:
    held = network_tensors(workspace.session.network)
    assert held.keys() == tensors.keys()
    for key, value in tensors.items():
        np.testing.assert_array_equal(held[key], value)


def test_loaded_weights_are_what_the_pass_runs_with(workspace_on, tmp_path):
    path, tensors = weights_file(tmp_path, "tiny_cnn", seed=7)
    workspace, events = workspace_on("tiny_cnn")
    workspace.build_pass()
    workspace.weights.load(path)
    assert workspace.built is None  # the pass showed the seed's weights
    assert events.names()[-2:] == ["pass_dropped", "weights_changed"]
    assert workspace.build_pass() is None
    assert_pass_holds(workspace, tensors)
    assert workspace.weights_label()[0] == "weights from tiny_cnn_7.npz"
    assert workspace.weights.start_for(workspace.doc)[1] == "weights from tiny_cnn_7.npz"


def test_weights_that_do_not_fit_change_nothing(workspace_on, tmp_path):
    path, _tensors = weights_file(tmp_path, "moons_mlp", seed=1)
    workspace, events = workspace_on("tiny_cnn")
    with pytest.raises(ValueError, match="moons_mlp_1.npz"):
        workspace.weights.load(path)
    assert workspace.weights.current is None and events == []


def test_a_new_document_forgets_loaded_weights(workspace_on, tmp_path):
    path, _tensors = weights_file(tmp_path, "tiny_cnn", seed=7)
    workspace, events = workspace_on("tiny_cnn")
    workspace.weights.load(path)
    workspace.set_document(example("tiny_cnn"))
    assert workspace.weights.current is None and workspace.weights.start is None
    assert events.names()[-1] == "document_replaced"
    assert workspace.weights_label()[0] == "initial weights (seed 0)"


def test_trained_weights_win_while_they_fit_then_the_loaded_ones_come_back(
        workspace_on, tmp_path):
    path, loaded = weights_file(tmp_path, "moons_mlp", seed=7)
    workspace, events = workspace_on("moons_mlp")
    workspace.weights.load(path)
    run = trained("moons_mlp", seed=3)
    workspace.training.keep(run)
    assert events.names()[-2:] == ["weights_changed", "weights_trained"]
    assert workspace.build_pass() is None
    assert_pass_holds(workspace, network_tensors(build_network(example("moons_mlp"), seed=3)))
    label, batch, _note = workspace.weights_label()
    assert (label, batch) == ("trained weights", "4 moons validation samples (standardised)")
    moons = load_for_input("moons", (2,), 0).x  # the identity normaliser: raw points
    for point in workspace.session.feeds["x"]:
        assert np.any(np.all(np.isclose(moons, point), axis=1))
    assert workspace.weights.start_for(workspace.doc)[1] == "trained weights"

    workspace.doc.set_params("hidden", {"units": 8})  # the trained weights no longer fit
    assert workspace.weights.in_use.label == "weights from moons_mlp_7.npz"
    assert workspace.weights.start_for(workspace.doc)[0] is workspace.weights.start.tensors
    assert set(loaded) == set(workspace.weights.start.tensors)


def test_imported_weights_replace_trained_ones(workspace_on):
    workspace, _events = workspace_on("moons_mlp")
    workspace.training.keep(trained("moons_mlp", seed=3))
    tensors = network_tensors(build_network(example("moons_mlp"), seed=9))
    workspace.weights.set_imported(tensors, "imported weights (m.py:make)")
    assert workspace.build_pass() is None
    assert_pass_holds(workspace, tensors)
    workspace.weights.forget()
    assert workspace.weights_label()[0] == "initial weights (seed 0)"


def test_saved_weights_are_the_ones_the_pass_shows(workspace_on, tmp_path):
    path, tensors = weights_file(tmp_path, "tiny_cnn", seed=4)
    workspace, _events = workspace_on("tiny_cnn")
    workspace.weights.load(path)
    made = workspace.weights.save(str(tmp_path / "again.npz"))
    assert made.label == "weights from tiny_cnn_4.npz"
    with np.load(tmp_path / "again.npz") as again:
        assert set(again.files) == set(tensors)
        for key, value in tensors.items():
            np.testing.assert_array_equal(again[key], value)
