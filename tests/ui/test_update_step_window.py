"""The update step in the window: the step bar, the tensors, the formula, the Run menu,
the Training panel's optimizer, and `bpviz snapshot --phase update`."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import numpy as np  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QImage  # noqa: E402

from bpviz.main import main  # noqa: E402
from tests.ui.test_stepping_window import activate, started  # noqa: E402
from tests.ui.windowkit import TINY_CNN, make_window  # noqa: E402


@pytest.fixture
def cnn(qtbot):
    window, _answers = make_window(qtbot, TINY_CNN)
    window.stepping.presenter.pulses.enabled = False
    return window


def choose(window, optimizer: str, lr: float, momentum: float = 0.0) -> None:
    """Set the optimizer in the Training panel, as a user would."""
    controls = window.training_dock.widget().controls
    controls.optimizer.setCurrentText(optimizer)
    controls.lr.setValue(lr)
    controls.momentum.setValue(momentum)


def test_the_step_bar_walks_forward_backward_update_and_back(qtbot, cnn):
    controller = started(qtbot, cnn)
    labels = [controller.bar.label.text()]
    while not controller.session.at_end:
        qtbot.keyClick(cnn, Qt.Key.Key_F10)
        labels.append(controller.bar.label.text())
    phases = [label.split(" · ")[0] for label in labels]
    assert phases == (["phase: forward"] * 7 + ["phase: backward"] * 7
                      + ["phase: update"] * 2)
    assert labels[-2].startswith("phase: update · step 1/2 · node c1 (conv2d)")
    session = controller.session
    assert labels[-1] == (f"phase: update · step 2/2 · node fc (dense) · L = "
                          f"{session.loss:.4g} → {session.loss_after:.4g} on this batch")
    assert cnn.stepping.scene.nodes["fc"].step_role == "active"
    back = [labels[-1]]
    for _ in range(len(labels) - 1):
        qtbot.keyClick(cnn, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
        back.append(controller.bar.label.text())
    assert back == labels[::-1]


def test_the_update_steps_tensors_are_the_steps_own(qtbot, cnn):
    choose(cnn, "SGD", 0.1)
    controller = started(qtbot, cnn)
    session = controller.session
    cnn.workspace.seek_step("update", 1)
    step = session.current
    tensors = controller.tensors
    assert tensors.current_key() == "delta:weight"  # the change first
    labels = [tensors.tabs.tabText(i) for i in range(tensors.tabs.count())]
    assert labels == ["W before", "∂L/∂W", "W after", "ΔW", "b before", "∂L/∂b", "b after",
                      "Δb"]
    shown = {entry.key: entry.array for entry in tensors.entries}
    for name in ("weight", "bias"):
        np.testing.assert_array_equal(shown[f"before:{name}"], step.params_before[name])
        np.testing.assert_array_equal(shown[f"after:{name}"], step.params_after[name])
        np.testing.assert_array_equal(shown[f"grad:{name}"], step.grad_params[name])
        # plain SGD: the change is −α times the gradient of the backward step of c1
        backward = next(s for s in session.steps if s.phase == "backward" and s.node == "c1")
        np.testing.assert_allclose(shown[f"delta:{name}"], -0.1 * backward.grad_params[name],
                                   rtol=1e-12, atol=1e-15)
    formula = controller.formula
    assert formula.title.text() == "conv2d 'c1' · update · SGD"
    assert "θ ← θ − α ∂L/∂θ; α = 0.1" in formula.plain_text()


def test_the_optimizer_state_has_a_tab(qtbot, cnn):
    choose(cnn, "SGD", 0.05, momentum=0.9)
    controller = started(qtbot, cnn)
    cnn.workspace.seek_step("update", 2)
    step = controller.session.current
    shown = {entry.key: entry for entry in controller.tensors.entries}
    assert shown["state:weight:momentum_buffer"].label == "v of W"
    np.testing.assert_array_equal(shown["state:weight:momentum_buffer"].array,
                                  step.state_after["weight"]["momentum_buffer"])


def test_another_learning_rate_rebuilds_the_pass_at_the_same_step(qtbot, cnn):
    choose(cnn, "SGD", 0.05)
    controller = started(qtbot, cnn)
    cnn.workspace.seek_step("update", 2)
    position = controller.session.position
    old = controller.session
    choose(cnn, "SGD", 0.2)
    qtbot.waitUntil(lambda: controller.session is not None and controller.session is not old
                    and not controller.building, timeout=20000)
    qtbot.waitUntil(lambda: controller.session.position == position)
    assert controller.session.current.settings["lr"] == 0.2
    assert "α = 0.2" in controller.formula.plain_text()
    assert controller.bar.label.text().startswith("phase: update · step 2/2")


def test_the_run_menu_turns_the_update_step_off_and_on(qtbot, cnn):
    controller = started(qtbot, cnn)
    action = controller.update_setting.action
    assert action.isChecked() and action in controller.menu.actions()
    cnn.workspace.seek_step("backward", 2)
    position = controller.session.position
    action.trigger()
    assert not cnn.workspace.settings.update
    qtbot.waitUntil(lambda: controller.session is not None and not controller.building,
                    timeout=20000)
    qtbot.waitUntil(lambda: controller.session.position == position)
    assert controller.session.update_count == 0
    controller.bar.run_to_end_of_phase()
    assert controller.session.at_end and controller.session.phase == "backward"
    cnn.workspace.set_settings(update=True)
    assert action.isChecked()


def test_a_graph_without_weights_to_train_ends_after_backward(qtbot, cnn):
    for node in ("c1", "fc"):
        cnn.editor.doc.set_trainable(node, False)
    controller = started(qtbot, cnn)
    activate(qtbot, cnn)
    assert controller.session.update_count == 0
    assert "update" not in controller.bar.label.text()


def test_snapshot_at_an_update_step(tmp_path, capsys):
    out = tmp_path / "update.png"
    assert main(["snapshot", str(TINY_CNN), "--out", str(out), "--size", "1400x900",
                 "--step", "2", "--phase", "update", "--update", "sgd", "--lr", "0.1"]) == 0
    assert QImage(str(out)).width() == 1400
    assert main(["snapshot", str(TINY_CNN), "--out", str(out), "--step", "3",
                 "--phase", "update"]) != 0
    assert "the update pass has steps 1 to 2, not 3" in capsys.readouterr().err
    assert main(["snapshot", str(TINY_CNN), "--out", str(out), "--lr", "0.1"]) != 0
    assert "--lr is for --update sgd|adam" in capsys.readouterr().err


def test_the_menu_item_names_the_optimizer_it_shows(qtbot, cnn):
    action = cnn.stepping.update_setting.action
    choose(cnn, "SGD", 0.05, momentum=0.9)
    assert action.text() == "Show the &Update Step (SGD · lr 0.05 · momentum 0.9)"
    assert "as chosen in the Training panel; a first step" in action.statusTip()
    choose(cnn, "Adam", 0.003)
    assert action.text() == "Show the &Update Step (Adam · lr 0.003)"


def test_exported_frames_end_with_the_update_steps(qtbot, cnn, tmp_path):
    from bpviz.ui.export_job import ExportOptions, make_exporter

    controller = started(qtbot, cnn)
    session = controller.session
    exporter = make_exporter("frames", cnn.editor.doc, session, None, ExportOptions(dpi=40))
    exporter.export(tmp_path / "frames")
    frames = sorted((tmp_path / "frames").glob("*.png"))
    assert len(frames) == 7 + 7 + 2 == len(session.steps)
