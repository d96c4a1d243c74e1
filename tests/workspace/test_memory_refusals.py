"""The window's pass, its torch check and its training are refused when they would not fit."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from bpviz.workspace.passes import torch_check_refusal


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
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "8G")
    workspace, _ = workspace_on("vgg16")
    workspace.set_settings(batch=1, update=False)
    assert workspace.refusal() is None  # the pass alone: about 3 GiB in float64
    workspace.set_settings(update=True)
    why = workspace.refusal()  # Adam's step on 138 million float64 parameters
    assert why is not None and "not even a batch of 1 fits" in why


def test_training_in_the_window_over_the_limit_is_refused(workspace_on, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "5G")
    workspace, _ = workspace_on("vgg16")
    why = workspace.training.memory_problem(config(32))
    assert why.startswith("not enough memory: a batch of 32 (float32) needs about")
    assert workspace.training.memory_problem(config(1, "sgd")) is None
    small, _ = workspace_on("tiny_cnn")
    assert small.training.memory_problem(config(32)) is None
