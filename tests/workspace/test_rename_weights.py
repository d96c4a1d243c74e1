"""Renaming a node keeps the weights held for it; an edit that drops them says so."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bpviz.graph import build_network, infer_shapes
from bpviz.graph.weights import network_tensors
from tests.workspace.conftest import example
from tests.workspace.test_weights import assert_pass_holds, trained


def seed_tensors(name: str, seed: int, renames: dict[str, str]) -> dict:
    """The initial weights of `seed` (what trained() holds), keyed as after `renames`."""
    tensors = network_tensors(build_network(example(name), seed=seed))
    out = {}
    for key, value in tensors.items():
        node, name_ = key.split("/")
        out[f"{renames.get(node, node)}/{name_}"] = value
    return out


def rename(workspace, old: str, new: str) -> None:
    """What the window's editor does: rename, then report the new shapes."""
    workspace.doc.rename(old, new)
    workspace.set_report(infer_shapes(workspace.doc))


def test_a_renamed_layer_keeps_its_trained_weights_and_optimizer_state(workspace_on):
    workspace, _events = workspace_on("moons_mlp")
    slot = {"exp_avg": np.full((2, 16), 0.5), "step": 7}
    run = replace(trained("moons_mlp", seed=3), optimizer_state={("hidden", "weight"): slot})
    workspace.training.keep(run)
    rename(workspace, "hidden", "h1")
    source = workspace.weights.in_use
    assert source is not None and source.label == "trained weights"
    assert set(source.optimizer_state) == {("h1", "weight")}
    assert workspace.weights.unsaved_trained
    assert workspace.build_pass() is None
    assert_pass_holds(workspace, seed_tensors("moons_mlp", 3, {"hidden": "h1"}))
    rename(workspace, "h1", "hidden")  # undo
    assert workspace.build_pass() is None
    assert_pass_holds(workspace, seed_tensors("moons_mlp", 3, {}))
    assert set(workspace.weights.in_use.optimizer_state) == {("hidden", "weight")}


def test_renaming_the_loss_keeps_trained_weights_saved(workspace_on, tmp_path):
    workspace, events = workspace_on("moons_mlp")
    workspace.training.keep(trained("moons_mlp", seed=3))
    workspace.weights.save(str(tmp_path / "w.npz"))
    assert not workspace.weights.unsaved_trained
    del events[:]
    rename(workspace, "loss", "lossx")
    assert workspace.weights_label()[0] == "trained weights"
    assert not workspace.weights.unsaved_trained
    assert "weights_changed" not in events.names()
    assert workspace.training.trained_start(workspace.doc) is not None


def test_an_edit_that_drops_the_trained_weights_says_so_and_undo_brings_them_back(
        workspace_on):
    workspace, events = workspace_on("moons_mlp")
    workspace.training.keep(trained("moons_mlp", seed=3))
    held = workspace.weights.in_use
    del events[:]
    workspace.doc.set_params("hidden", {"units": 8})
    changes = [payload for name, payload in events if name == "weights_changed"]
    assert len(changes) == 1
    assert changes[0]["dropped"] is held and changes[0]["source"] is None
    assert workspace.weights_label()[0] == "initial weights (seed 0)"
    del events[:]
    workspace.doc.set_params("hidden", {"units": 16})
    changes = [payload for name, payload in events if name == "weights_changed"]
    assert len(changes) == 1
    assert changes[0]["dropped"] is None and changes[0]["source"] is held
    assert workspace.weights.unsaved_trained
