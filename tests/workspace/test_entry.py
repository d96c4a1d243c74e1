"""The entry chosen to be explained: held by the workspace, checked, moved, dropped."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.workspace.entry import ChosenEntry, moved, shown_keys


def built(workspace_on, name: str = "tiny_cnn"):
    workspace, events = workspace_on(name)
    assert workspace.build_pass() is None
    events.clear()
    return workspace, events


def step_position(session, phase: str, node: str) -> int:
    return next(i for i, step in enumerate(session.steps)
                if step.phase == phase and step.node == node)


def test_choosing_an_entry_tells_the_observers(workspace_on):
    workspace, events = built(workspace_on)
    entry = workspace.choose_entry("c1", "grad/weight", (2, 0, 0, 1))
    assert workspace.entry == entry == ChosenEntry("c1", "grad/weight", (2, 0, 0, 1))
    assert events == [("entry_changed", {"entry": entry})]
    workspace.choose_entry("c1", "grad/weight", (2, 0, 0, 1))  # the same: no event
    assert len(events) == 1
    workspace.clear_entry()
    assert workspace.entry is None and events[-1] == ("entry_changed", {"entry": None})


@pytest.mark.parametrize("node, tensor, at, words", [
    ("c1", "grad/weight", (9, 0, 0, 0), "outside axis 0"),
    ("c1", "grad/weight", (0, 0, 0), "4 axes"),
    ("nowhere", "out", (0,), "no node"),
    ("c1", "grad/gamma", (0,), "no gradient 'gamma'"),
])
def test_a_bad_entry_is_refused_with_what_and_where(workspace_on, node, tensor, at, words):
    workspace, events = built(workspace_on)
    with pytest.raises(ValueError, match=words):
        workspace.choose_entry(node, tensor, at)
    assert workspace.entry is None and events == []


def test_no_entry_without_a_pass(workspace_on):
    workspace, _ = workspace_on()
    with pytest.raises(ValueError, match="no pass"):
        workspace.choose_entry("c1", "out", (0, 0, 0, 0))


def test_the_entry_goes_with_the_pass(workspace_on):
    workspace, events = built(workspace_on)
    workspace.choose_entry("c1", "out", (1, 0, 2, 3))
    workspace.set_settings(seed=5)  # drops the pass
    assert workspace.entry is None
    assert ("entry_changed", {"entry": None}) in events
    assert events.names().index("entry_changed") < events.names().index("pass_dropped")


def test_the_entry_survives_steps_that_show_its_tensor_only(workspace_on):
    workspace, _ = built(workspace_on)
    session = workspace.session
    forward_c1 = step_position(session, "forward", "c1")
    workspace.seek(forward_c1)
    workspace.choose_entry("c1", "out", (0, 1, 2, 2))
    consumer = next(s for s in session.steps[forward_c1 + 1:] if "c1" in
                    session.network.nodes[s.node].inputs)
    workspace.seek(session.steps.index(consumer))  # shows c1/out as its input
    assert workspace.entry == ChosenEntry("c1", "out", (0, 1, 2, 2))
    workspace.seek(step_position(session, "backward", "c1"))
    assert workspace.entry is not None  # c1's own backward step shows its output
    workspace.seek(len(session.steps) - 1)  # the input's backward step: not c1's tensors
    assert "c1/out" not in shown_keys(session.current, session.network)
    assert workspace.entry is None


def test_shown_keys_name_what_a_backward_conv_step_shows(workspace_on):
    workspace, _ = built(workspace_on)
    session = workspace.session
    step = session.steps[step_position(session, "backward", "c1")]
    source = session.network.nodes["c1"].inputs[0]
    assert shown_keys(step, session.network) == {
        "c1/out", "c1/grad_out", "c1/grad_in/0", "c1/grad/weight", "c1/grad/bias",
        "c1/param/weight", "c1/param/bias", f"{source}/out"}


def test_arrow_moves_stop_at_the_edges(workspace_on):
    workspace, _ = built(workspace_on)
    shape = workspace.session.network.nodes["c1"].op.params["weight"].shape  # [m, n, k, k]
    workspace.choose_entry("c1", "param/weight", (0, 0, 0, 0))
    workspace.move_entry(columns=1)
    workspace.move_entry(rows=1)
    assert workspace.entry.at == (0, 0, 1, 1)
    workspace.move_entry(rows=-5, columns=-5)
    assert workspace.entry.at == (0, 0, 0, 0)
    workspace.move_entry(maps=1)  # the next kernel: (m, n) in C order
    expected = np.unravel_index(1, shape[:2])
    assert workspace.entry.at == (*map(int, expected), 0, 0)


def test_moves_keep_the_sample_and_walk_the_maps():
    entry = ChosenEntry("c", "out", (3, 0, 5, 5))
    assert moved(entry, (4, 2, 6, 6), rows=1, columns=1).at == (3, 0, 5, 5)
    assert moved(entry, (4, 2, 6, 6), maps=1).at == (3, 1, 5, 5)
    assert moved(entry, (4, 2, 6, 6), maps=7).at == (3, 1, 5, 5)
    vector = ChosenEntry("d", "out", (1, 4))  # [N, F]: the bars run along F
    assert moved(vector, (2, 10), columns=1).at == (1, 5)
    assert moved(vector, (2, 10), rows=-9).at == (1, 0)
    assert moved(ChosenEntry("loss", "out", ()), (), columns=1).at == ()
