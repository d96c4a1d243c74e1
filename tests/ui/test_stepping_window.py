"""Stepping through a pass in the real main window: keys, canvas, docks, torch check."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QElapsedTimer, Qt, QVariantAnimation  # noqa: E402

from bpviz.engine.executor import Executor  # noqa: E402
from bpviz.graph import build_network, load_graph  # noqa: E402
from bpviz.graph.batch import random_batch  # noqa: E402
from tests.ui.eventloop import settle  # noqa: E402
from tests.ui.windowkit import EXAMPLES, TINY_CNN, make_window  # noqa: E402

RESNET = EXAMPLES / "resnet_blocks.json"
DILATED = EXAMPLES / "dilated_convolutions.json"


def activate(qtbot, window) -> None:
    """Shortcuts only reach the active window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)


def started(qtbot, window, key=Qt.Key.Key_F10):
    """Press `key` (F10 by default) and wait for the pass the press asked for."""
    controller = window.stepping
    activate(qtbot, window)
    qtbot.keyClick(window, key)
    qtbot.waitUntil(lambda: controller.session is not None and not controller.building,
                    timeout=20000)
    return controller


def picture(window) -> tuple:
    """Everything stepping draws or shows, comparable."""
    scene = window.stepping.scene
    nodes = {key: (item.step_role, item.step_phase, item.sum_badge is not None)
             for key, item in scene.nodes.items()}
    wires = {key: (None if w.grad_colour is None else w.grad_colour.name(), w.grad_width,
                   w.note) for key, w in scene.wires.items()}
    tensors = window.stepping.tensors
    tabs = [tensors.tabs.tabText(i) for i in range(tensors.tabs.count())]
    formula = window.stepping.formula
    return (scene.step_state, nodes, wires, tabs, tensors.current_key(),
            formula.title.text(), formula.plain_text())


@pytest.fixture
def cnn(qtbot):
    window, _answers = make_window(qtbot, TINY_CNN)
    window.stepping.presenter.pulses.enabled = False
    return window


def test_f10_builds_the_pass_on_a_worker_and_takes_the_first_step(qtbot, cnn):
    busy = []
    cnn.stepping.busy_changed.connect(busy.append)
    controller = started(qtbot, cnn)
    assert busy == [True, False]
    assert controller.session.position == 0
    assert controller.bar.label.text().startswith("phase: forward · step 1/7 · node x")
    assert controller.docks["tensors"].isVisible() and controller.docks["formula"].isVisible()
    assert cnn.stepping.scene.nodes["x"].step_role == "active"


def test_stepping_forward_then_back_restores_the_view(qtbot, cnn):
    controller = started(qtbot, cnn)
    controller.bar.reset()
    start = picture(cnn)
    assert start[0][0] is None and all(role is None for role, *_ in start[1].values())
    seen = [start]
    for _ in range(len(controller.session.steps)):
        qtbot.keyClick(cnn, Qt.Key.Key_F10)
        seen.append(picture(cnn))
    assert len({str(p[0]) for p in seen}) == len(seen)  # every step looks different
    for expected in reversed(seen[:-1]):
        qtbot.keyClick(cnn, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
        assert picture(cnn) == expected


def test_the_highlight_follows_the_executors_order(qtbot, cnn):
    controller = started(qtbot, cnn)
    spec = controller.built.spec
    network = build_network(load_graph(TINY_CNN), seed=spec.seed)
    feeds, targets = random_batch(network, spec.batch, spec.seed, float)
    executor = Executor(network)
    order = [("forward", s.node) for s in executor.forward(feeds, targets)]
    order += [("backward", s.node) for s in executor.backward()]
    # then the update step (on by default): each node with weights, from the input on
    order += [("update", node.id) for node in network.order if node.op.params]
    shown = [(controller.scene.step_state[3], controller.scene.step_state[0])]
    while not controller.session.at_end:
        qtbot.keyClick(cnn, Qt.Key.Key_F10)
        shown.append((controller.scene.step_state[3], controller.scene.step_state[0]))
        assert cnn.editor.selection == [shown[-1][1]]  # followed: the inspector shows it
    assert shown == order


def test_formula_panel_names_the_op_and_its_shapes(qtbot, cnn):
    controller = started(qtbot, cnn)
    qtbot.keyClick(cnn, Qt.Key.Key_F10)
    assert controller.formula.title.text() == "conv2d 'c1' · forward"
    assert "U: 8×8×1 → Z: 8×8×8 · W: 3×3×1×8" in controller.formula.plain_text()
    controller.bar.run_to_end_of_phase()
    controller.bar.run_to_end_of_phase()
    assert controller.formula.title.text() == "input 'x' · backward"


def test_backward_wires_show_the_gradient_norm(qtbot, cnn):
    controller = started(qtbot, cnn)
    controller.bar.seek(controller.session.update_start - 1)  # the last backward step
    norms = controller.session.wire_gradient_norms()
    big, small = max(norms, key=norms.get), min(norms, key=norms.get)
    wires = controller.scene.wires
    assert wires[big[1:]].grad_colour.name() != wires[small[1:]].grad_colour.name()
    assert wires[big[1:]].grad_width > wires[small[1:]].grad_width


def test_a_residual_fork_sums_two_contributions(qtbot):
    window, _ = make_window(qtbot, RESNET)
    controller = started(qtbot, window)
    session = controller.session
    fork = "widen_relu"
    at = next(i for i, s in enumerate(session.steps)
              if s.phase == "backward" and s.node == fork)
    controller.bar.seek(at - 1)
    assert controller.scene.nodes[fork].sum_badge is not None
    notes = [w.note for (dst, _), w in controller.scene.wires.items() if w.src.node_id == fork]
    assert len(notes) == 2 and all(note.startswith("‖g‖") for note in notes)
    controller.bar.seek(at)
    assert len(session.current.contributions) == 2


def test_any_edit_drops_the_pass_but_a_move_does_not(qtbot, cnn):
    controller = started(qtbot, cnn)
    cnn.editor.move_nodes({"c1": (10.0, 300.0)})
    assert controller.session is not None
    cnn.editor.set_params("c1", {"out_channels": 4, "kernel": 3, "padding": 1})
    assert controller.session is None and controller.scene.step_state is None
    assert all(item.step_role is None for item in controller.scene.nodes.values())
    assert controller.tensors.step is None and controller.formula.step is None


def test_graphs_with_errors_are_refused(qtbot, cnn):
    cnn.editor.disconnect("c1", 0)
    activate(qtbot, cnn)
    qtbot.keyClick(cnn, Qt.Key.Key_F10)
    assert cnn.stepping.session is None and not cnn.stepping.building
    assert cnn.statusBar().currentMessage().startswith("cannot step through a graph with "
                                                       "errors")


def test_vgg16_over_the_memory_limit_is_refused_with_its_estimate(qtbot, monkeypatch):
    monkeypatch.setenv("BPVIZ_MAX_MEMORY", "1G")
    window, _ = make_window(qtbot, EXAMPLES / "vgg16.json")
    activate(qtbot, window)
    qtbot.keyClick(window, Qt.Key.Key_F10)
    assert window.stepping.session is None and not window.stepping.building
    message = window.statusBar().currentMessage()
    # 138,357,544 float64 parameters and as many gradients: 2.06 GiB before any activation.
    assert message.startswith("not enough memory: a batch of 4 (float64) needs about")
    assert "the limit is 1.00 GiB (BPVIZ_MAX_MEMORY)" in message
    assert message.endswith("not even a batch of 1 fits")
    assert window.stepping.bar.label.text() == message  # whole, its tooltip when elided


def test_frozen_nodes_pass_the_gradient_but_have_no_parameter_gradient(qtbot, cnn):
    cnn.editor.set_trainable("c1", False)
    controller = started(qtbot, cnn)
    assert not controller.scene.nodes["c1"].trainable  # drawn grey
    session = controller.session
    at = next(i for i, s in enumerate(session.steps)
              if s.phase == "backward" and s.node == "c1")
    controller.bar.seek(at)
    keys = [entry.key for entry in controller.tensors.entries]
    assert "grad_out" in keys and "grad_in:0" in keys
    assert not any(key.startswith("grad:") for key in keys)
    assert ("x", "c1", 0) in session.wire_gradient_norms()
    controller.bar.seek(next(i for i, s in enumerate(session.steps)
                             if s.phase == "backward" and s.node == "fc"))
    assert any(entry.key == "grad:weight" for entry in controller.tensors.entries)


def test_dots_travel_when_stepping_slowly_only(qtbot, cnn):
    controller = started(qtbot, cnn)
    pulses = controller.presenter.pulses
    pulses.enabled = True
    qtbot.waitUntil(lambda: not pulses.too_fast())  # the next step counts as slow
    controller.bar.step()
    assert pulses.running and len(pulses.dots) == 1  # x → c1
    controller.bar.step()  # at once: too fast to animate
    assert not pulses.running
    qtbot.waitUntil(lambda: not pulses.too_fast())
    controller.bar.seek(len(controller.session.steps) - 2)  # backward of c1
    assert pulses.running
    qtbot.waitUntil(lambda: not pulses.running, timeout=2000)


@pytest.mark.parametrize("node, size", [("dil1", 3), ("dil2", 7), ("dil3", 15)])
def test_receptive_dock_draws_the_field_of_a_clicked_unit(qtbot, node, size):
    window, _ = make_window(qtbot, DILATED)
    controller = started(qtbot, window)
    controller.docks["receptive"].show()
    controller.docks["receptive"].raise_()
    view = controller.receptive
    qtbot.waitUntil(view.isVisible)
    assert view.session is controller.session
    view.set_node(node)
    qtbot.mouseClick(view.grid.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.unit_scene_pos(16, 16))
    assert view.unit == (16, 16)
    top, left, height, width = view.box_rect()
    assert (height, width) == (size, size)
    assert (top, left) == (16 - size // 2, 16 - size // 2)


def test_an_edit_while_the_pass_is_being_built_drops_it(qtbot, cnn):
    controller = cnn.stepping
    activate(qtbot, cnn)
    qtbot.keyClick(cnn, Qt.Key.Key_F10)
    assert controller.building
    job = controller.job
    cnn.editor.set_params("fc", {"units": 12})
    assert not controller.building
    qtbot.waitUntil(lambda: not job.running, timeout=20000)  # the dropped build came back
    assert controller.session is None and controller.scene.step_state is None


def test_a_new_seed_drops_the_pass(qtbot, cnn):
    controller = started(qtbot, cnn)
    controller.bar.seed.setValue(3)
    assert controller.session is None
    qtbot.keyClick(cnn, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: controller.session is not None, timeout=20000)
    assert controller.built.spec.seed == 3


def test_opening_another_graph_while_dots_travel(qtbot, cnn):
    controller = started(qtbot, cnn)
    controller.presenter.pulses.enabled = True
    qtbot.waitUntil(lambda: not controller.presenter.pulses.too_fast())
    controller.bar.step()
    assert controller.presenter.pulses.running
    assert cnn.open_path(str(RESNET))
    assert controller.session is None and not controller.presenter.pulses.running
    journey = controller.presenter.pulses.findChild(QVariantAnimation).duration()
    travelled = QElapsedTimer()
    travelled.start()
    qtbot.waitUntil(lambda: travelled.elapsed() > journey)  # the dots would have arrived


def test_a_narrow_window_keeps_the_torch_check_in_sight_and_elides_the_step(qtbot, cnn):
    controller = started(qtbot, cnn)
    bar = controller.bar
    cnn.resize(1024, 640)
    qtbot.waitUntil(lambda: bar.width() <= 1024)
    settle()
    verify_button = bar.widgetForAction(bar.verify_action)
    assert verify_button is not None and verify_button.isVisible()
    assert bar.weights.isVisible()
    full = bar.label.text()
    assert full.startswith("phase: forward · step 1/7")  # text() is whole
    if bar.label.is_elided():
        assert bar.label.shown_text().endswith("…") and bar.label.toolTip() == full
    cnn.resize(1600, 1000)
    qtbot.waitUntil(lambda: not bar.label.is_elided())
    assert bar.label.toolTip() == ""
