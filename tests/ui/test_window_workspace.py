"""The window's panels observe its workspace: built in any order, driven from the workspace."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from bpviz.graph import build_network  # noqa: E402
from bpviz.graph.weights import network_tensors, save_weights  # noqa: E402
from bpviz.ui.main_window import MainWindow  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, patch_questions  # noqa: E402

FINISH_S = 60_000


class ReversedWindow(MainWindow):
    PANELS = tuple(reversed(MainWindow.PANELS))


@pytest.fixture
def reversed_window(qtbot):
    window = ReversedWindow()
    window.answers = patch_questions(window)
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitExposed(window)
    window.stepping.set_animate(False)
    yield window
    window.training_dock.widget().shut_down()


def test_panels_built_in_another_order_share_weights_pass_and_metrics(
        qtbot, reversed_window, tmp_path):
    window = reversed_window
    assert window.open_path(str(EXAMPLES / "moons_mlp.json"))
    path = tmp_path / "seven.npz"
    save_weights(build_network(window.editor.doc, seed=7), path)
    assert window.weights.load(str(path))
    assert window.stepping.bar.weights.text().strip() == "weights from seven.npz"
    panel = window.training_dock.widget()
    panel.controls.epochs.setValue(2)
    window.actions_["train"].trigger()
    assert not window.actions_["train"].isEnabled()  # the Train menu follows the state
    qtbot.waitUntil(lambda: not panel.running, timeout=FINISH_S)
    assert window.actions_["train"].isEnabled()
    assert panel.info.start == "weights from seven.npz"
    assert window.stepping.bar.weights.text().strip() == "trained weights"
    assert window.stepping.build_now() is None
    held = network_tensors(window.stepping.session.network)
    for key, value in panel.trained.tensors().items():
        np.testing.assert_array_equal(held[key], value)
    window.files.run_export_dialog = lambda dialog: None
    dialog = window.files.export_dialog()
    assert dialog.session is window.stepping.session
    assert dialog.metrics == window.workspace.training.metrics.rows != []


def test_the_workspace_drives_the_window(qtbot, reversed_window):
    window = reversed_window
    assert window.open_path(str(TINY_CNN))
    workspace = window.workspace
    workspace.set_settings(seed=3, batch=2)
    assert window.stepping.bar.seed.value() == 3 and window.stepping.bar.batch.value() == 2
    assert workspace.build_pass() is None
    assert window.stepping.docks["tensors"].isVisible()
    workspace.seek_step("backward", 2)
    step = workspace.session.current
    assert window.stepping.bar.label.text().startswith(
        f"phase: backward · step 2/{step.total} · node {step.node}")
    assert window.view.graph_scene.nodes[step.node].step_role == "active"
    window.stepping.bar.step()  # the bar moves the workspace's pass
    assert workspace.session.position == workspace.session.forward_count + 2
    window.stepping.bar.seed.setValue(4)  # the bar's settings are the workspace's
    assert workspace.settings.seed == 4 and workspace.built is None
    assert window.view.graph_scene.nodes[step.node].step_role != "active"
