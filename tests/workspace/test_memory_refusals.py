"""The window's pass, its torch check and its training are refused when they would not fit."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from bpviz.graph import GraphDocument, NodeData
from bpviz.graph.memory import Footprint
from bpviz.workspace import Workspace
from bpviz.workspace.passes import torch_check_refusal, window_parts
from bpviz.workspace.tensor_summary import DRAWING_BYTES


@pytest.fixture(autouse=True)
def _a_fresh_process(monkeypatch):
    # The estimates count what this process holds already; a test process that has
    # run many tests holds more than the window does at start: hold that fixed.
    monkeypatch.setattr("bpviz.graph.memory.resident_bytes", lambda: 200 * 2**20)


def config(batch: int, optimizer: str = "adam") -> SimpleNamespace:
    return SimpleNamespace(batch_size=batch, optimizer=optimizer, dtype="float32")


def test_a_pass_over_the_limit_names_the_estimate_the_limit_and_the_largest_batch(
        workspace_on, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "24G")  # the update phase (Adam) takes 12 GiB
    workspace, _ = workspace_on("vgg16")
    workspace.set_settings(batch=64)
    why = workspace.refusal()
    assert why.startswith("not enough memory: a batch of 64 (float64) needs about")
    assert "the limit is 24.00 GiB (BPVIZ_MAX_MEMORY); the largest batch that fits is" in why
    assert workspace.build_pass() == why and workspace.session is None
    largest = int(why.rsplit(" ", 1)[1])
    workspace.set_settings(batch=largest)
    assert workspace.refusal() is None  # refused only over the limit


def test_the_torch_check_counts_torch_beside_the_pass(workspace_on, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "6G")
    workspace, _ = workspace_on("vgg16")
    workspace.set_settings(batch=1, update=False)
    assert workspace.refusal() is None
    why = torch_check_refusal(workspace.doc, workspace.report, 1)
    assert why is not None and "not even a batch of 1 fits" in why


def test_the_update_phase_counts_a_copy_of_the_network_and_the_optimizers_state(
        workspace_on, monkeypatch):
    workspace, _ = workspace_on("vgg16")
    workspace.set_settings(batch=1, update=True)  # Adam's step
    _, window, update = window_estimates(workspace)
    # θ after, Δθ and Adam's two moments, of 138,357,544 float64 parameters
    assert update - window >= 4 * 138_357_544 * 8
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str((window + update) // 2))
    spec = workspace.pass_spec()  # the pass fits, its update step does not
    assert spec.update is None and spec.dtype == "float64"
    assert spec.left_out.startswith("the update step is left out")


def test_training_in_the_window_over_the_limit_is_refused(workspace_on, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "5G")
    workspace, _ = workspace_on("vgg16")
    why = workspace.training.memory_problem(config(32))
    assert why.startswith("not enough memory: a batch of 32 (float32) needs about")
    assert workspace.training.memory_problem(config(1, "sgd")) is None
    small, _ = workspace_on("tiny_cnn")
    assert small.training.memory_problem(config(32)) is None


def big_dense() -> GraphDocument:
    return GraphDocument("big dense", [
        NodeData("x", "input", [], {"shape": [1200]}),
        NodeData("fc", "dense", ["x"], {"units": 1000}),
        NodeData("loss", "mse", ["fc"])])


def window_estimates(workspace) -> tuple[int, int, int]:
    """The pass alone; with the window's receptive field and drawing; and the update."""
    footprint = Footprint(workspace.doc, workspace.report)
    batch, dtype = workspace.settings.batch, workspace.settings.dtype
    alone = footprint.estimate("session", batch, dtype).total
    window = footprint.estimate("session", batch, dtype,
                                extra=window_parts(footprint, dtype)).total
    update = footprint.estimate("session", batch, dtype, extra=window_parts(
        footprint, dtype, workspace.update_choice())).total
    return alone, window, update


def test_the_window_counts_its_drawing_and_receptive_field_beside_the_pass(monkeypatch):
    workspace = Workspace(big_dense())
    workspace.set_settings(update=False, dtype="float32")  # nothing smaller to fall back on
    alone, window, _ = window_estimates(workspace)
    assert window - alone >= DRAWING_BYTES
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str((alone + window) // 2))
    assert workspace.refusal().startswith("not enough memory: a batch of 4 (float32)")
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str(window + 2**20))
    assert workspace.refusal() is None


def test_an_update_step_that_would_not_fit_is_left_out_and_said_so(monkeypatch):
    workspace = Workspace(big_dense())
    _, window, update = window_estimates(workspace)
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str((window + update) // 2))
    assert workspace.refusal() is None
    assert workspace.build_pass() is None
    built = workspace.built
    assert built.spec.update is None and built.session.update_count == 0
    assert built.note.startswith("the update step is left out: it would take the pass to")
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str(update + 2**20))
    workspace.drop_pass()
    assert workspace.build_pass() is None
    assert workspace.built.session.update_count == 1 and workspace.built.note == ""


def test_a_pass_that_would_not_fit_in_float64_is_built_in_float32_and_said_so(monkeypatch):
    workspace = Workspace(big_dense())
    workspace.set_settings(update=False)
    _, double, _ = window_estimates(workspace)
    workspace.set_settings(dtype="float32")
    _, single, _ = window_estimates(workspace)
    workspace.set_settings(dtype="float64")
    assert single < double
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str((single + double) // 2))
    assert workspace.refusal() is None
    assert workspace.build_pass() is None
    built = workspace.built
    assert built.session.output("fc").dtype == np.float32
    assert "the pass is in float32: in float64 it would take" in built.note
    assert workspace.settings.dtype == "float64"  # asked again next time, when it may fit
    workspace.drop_pass()
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", str(single // 2))  # not even in float32
    assert workspace.refusal().startswith("not enough memory: a batch of 4 (float64)")
