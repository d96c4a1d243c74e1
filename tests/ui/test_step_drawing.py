"""GraphScene.show_step / clear_step: glow, gradient-coloured wires, "+" at forks."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from bpviz.graph import load_graph  # noqa: E402
from bpviz.scene.colours import log_fractions, norm_colour  # noqa: E402
from bpviz.scene.scene import GraphScene  # noqa: E402
from bpviz.ui.editor import GraphEditor  # noqa: E402
from tests.engine.stepping_graphs import EXAMPLES, example_session  # noqa: E402


def scene_of(name: str) -> GraphScene:
    return GraphScene(GraphEditor(load_graph(EXAMPLES / f"{name}.json")))


def wire_look(scene: GraphScene) -> dict:
    return {key: (None if w.grad_colour is None else w.grad_colour.name(), w.grad_width,
                  w.note, w.label) for key, w in scene.wires.items()}


def node_look(scene: GraphScene) -> dict:
    return {key: (n.step_role, n.step_phase, n.sum_badge is not None)
            for key, n in scene.nodes.items()}


def show(scene: GraphScene, session) -> None:
    phase = session.phase if session.position >= 0 else None
    scene.show_step(session.active_node, session.wire_gradient_norms(),
                    session.done_nodes(), phase)


def test_backward_wires_coloured_by_norm(qapp):
    scene = scene_of("tiny_cnn")
    session = example_session("tiny_cnn")
    plain = wire_look(scene), node_look(scene)
    session.seek(len(session.steps) - 1)
    show(scene, session)
    norms = session.wire_gradient_norms()
    big, small = max(norms, key=norms.get), min(norms, key=norms.get)
    wide, thin = scene.wires[big[1:]], scene.wires[small[1:]]
    assert wide.grad_colour.name() != thin.grad_colour.name()
    assert wide.grad_width > thin.grad_width
    assert wide.note.startswith("‖g‖")
    assert scene.nodes[session.active_node].step_role == "active"
    scene.clear_step()
    assert (wire_look(scene), node_look(scene)) == plain


def test_forward_step_glows_without_gradients(qapp):
    scene = scene_of("tiny_cnn")
    session = example_session("tiny_cnn")
    session.seek(2)
    show(scene, session)
    roles = {key: item.step_role for key, item in scene.nodes.items()}
    assert roles[session.active_node] == "active"
    assert {k for k, r in roles.items() if r == "done"} == set(session.done_nodes()) - {
        session.active_node}
    assert all(w.grad_colour is None for w in scene.wires.values())


def test_fork_gets_a_plus_once_both_contributions_arrived(qapp):
    scene = scene_of("resnet_blocks")
    doc = scene.model.doc
    forks = [n for n, users in doc.consumers().items() if len(users) > 1]
    assert forks
    fork = forks[0]
    keys = [(fork, dst, port) for dst, port in doc.consumers()[fork]]
    scene.show_step(None, {keys[0]: 1.0}, set(), "backward")
    assert scene.nodes[fork].sum_badge is None
    scene.show_step(None, {key: 1.0 + i for i, key in enumerate(keys)}, set(), "backward")
    assert scene.nodes[fork].sum_badge is not None


def test_concat_inputs_name_their_channels(qapp):
    scene = scene_of("densenet_block")
    concat = next(n for n, node in scene.model.doc.nodes.items() if node.op == "concat")
    scene.show_step(concat, {}, set(), "backward")
    notes = [w.note for (dst, _), w in scene.wires.items() if dst == concat]
    assert notes[0].startswith("ch 0–")
    assert all("ch " in note for note in notes)


def test_log_scale_spreads_norms():
    fractions = log_fractions({"a": 1e-4, "b": 1e-2, "c": 1.0})
    assert fractions == pytest.approx({"a": 0.0, "b": 0.5, "c": 1.0})
    assert norm_colour(0.0).name() != norm_colour(1.0).name()
