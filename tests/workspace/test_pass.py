"""The workspace's pass: built from the document and the step settings, moved, dropped."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bpviz.graph import build_network, infer_shapes
from bpviz.graph.batch import random_batch
from bpviz.graph.weights import network_tensors
from tests.workspace.conftest import EXAMPLES


def test_the_workspace_imports_neither_qt_nor_torch():
    code = ("import sys, bpviz.workspace; "
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'pyqtgraph', 'torch', 'shiboken6'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, cwd=EXAMPLES.parents[1])
    assert result.stdout.strip() == ""


def test_a_pass_runs_the_seeds_weights_on_the_seeds_batch(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.set_settings(seed=5, batch=3)
    assert workspace.build_pass() is None
    assert events.names() == ["pass_dropped", "settings_changed", "pass_built"]
    expected = build_network(workspace.doc, seed=5)
    for key, value in network_tensors(expected).items():
        np.testing.assert_array_equal(network_tensors(workspace.session.network)[key], value)
    feeds, _targets = random_batch(expected, 3, 5, np.float64)
    np.testing.assert_array_equal(workspace.session.feeds["x"], feeds["x"])
    assert workspace.weights_label() == ("initial weights (seed 5)", "a random batch", "")


def test_seeking_a_step_announces_the_position_once(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.build_pass()
    forward = workspace.session.forward_count
    workspace.seek_step("backward", 2)
    workspace.seek(forward + 1)  # already there: nothing new
    moves = [payload["position"] for name, payload in events if name == "position_changed"]
    assert moves == [forward + 1]
    assert workspace.session.current.phase == "backward"
    with pytest.raises(IndexError, match="the forward pass has steps 1 to"):
        workspace.seek_step("forward", forward + 1)


def test_an_edit_drops_the_pass_but_moving_a_node_does_not(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.build_pass()
    workspace.doc.set_pos("x", (10.0, 20.0))
    assert workspace.built is not None
    workspace.doc.set_params("c1", {"out_channels": 3, "kernel": 3, "padding": 1})
    assert workspace.built is None and events[-1] == ("pass_dropped", {"had": True})


def test_new_settings_drop_the_pass_and_bad_ones_are_refused(workspace_on):
    workspace, _events = workspace_on("tiny_cnn")
    workspace.build_pass()
    workspace.set_settings(batch=4)  # unchanged: the pass stays
    assert workspace.built is not None
    workspace.set_settings(seed=1)
    assert workspace.built is None
    for bad, message in (({"batch": 0}, "batch size"), ({"seed": -1}, "seed"),
                         ({"dtype": "float16"}, "dtype"), ({"mode": "test"}, "mode")):
        with pytest.raises(ValueError, match=message):
            workspace.set_settings(**bad)
    assert workspace.settings.seed == 1 and workspace.settings.batch == 4


def test_a_graph_with_errors_is_refused_with_the_reason(workspace_on):
    workspace, events = workspace_on("tiny_cnn")
    workspace.doc.set_params("c1", {"out_channels": 8, "kernel": 99})
    workspace.set_report(infer_shapes(workspace.doc))
    why = workspace.build_pass()
    assert why.startswith("cannot step through a graph with errors") and "c1" in why
    assert "pass_built" not in events.names()


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_the_mode_chooses_running_or_batch_statistics(workspace_on, mode):
    workspace, _events = workspace_on("digits_cnn")
    workspace.set_settings(mode=mode, batch=2)
    assert workspace.build_pass() is None
    norm = next(step for step in workspace.session.steps if step.op == "batchnorm")
    x = norm.inputs[0]
    # γ = 1, β = 0 and fresh running statistics (mean 0, variance 1), ε = 1e-5:
    # eval normalises with those, training with the batch's own per-channel statistics
    if mode == "eval":
        mean, var = 0.0, 1.0
    else:
        mean, var = x.mean(axis=(0, 2, 3), keepdims=True), x.var(axis=(0, 2, 3), keepdims=True)
    np.testing.assert_allclose(norm.output, (x - mean) / np.sqrt(var + 1e-5), rtol=1e-6,
                               atol=1e-9)
