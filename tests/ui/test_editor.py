"""GraphEditor and its undo commands: every edit undoes to the exact document text."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from bpviz.engine import OPS  # noqa: E402
from bpviz.graph import dumps_graph, load_graph  # noqa: E402
from bpviz.graph.layout import layered_positions  # noqa: E402
from bpviz.ui.editor import EditError, GraphEditor  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[2] / "resources" / "examples"
RESIDUAL = Path(__file__).resolve().parents[1] / "data" / "residual_concat_cnn.json"


@pytest.fixture
def editor(qapp):
    return GraphEditor(load_graph(EXAMPLES / "tiny_cnn.json"))


@pytest.fixture
def residual(qapp):
    return GraphEditor(load_graph(RESIDUAL))


def check_undo_redo(editor: GraphEditor, edit) -> None:
    """Apply `edit`; undo gives the text before, redo the text after, twice over."""
    before = dumps_graph(editor.doc)
    edit()
    after = dumps_graph(editor.doc)
    assert after != before
    for _ in range(2):
        editor.undo()
        assert dumps_graph(editor.doc) == before
        editor.redo()
        assert dumps_graph(editor.doc) == after


def test_add_node_gets_fresh_id_and_defaults(editor):
    node_id = editor.add_node("conv2d", (10, 20))
    assert node_id == "conv2d_1"
    node = editor.doc.nodes[node_id]
    assert node.params == OPS["conv2d"].start_params() and node.pos == (10.0, 20.0)
    assert node.params == {"out_channels": 8, "kernel": 3, "padding": 1}
    assert editor.add_node("conv2d") == "conv2d_2"
    assert editor.is_modified


def test_every_op_with_required_params_starts_sound(qapp):
    from bpviz.engine import OPS

    ed = GraphEditor()
    for op_name in OPS:
        ed.add_node(op_name)
    messages = " ".join(ed.report.errors.values())
    assert "needs parameter" not in messages


def test_unknown_op_refused(editor):
    with pytest.raises(EditError, match="no op"):
        editor.add_node("conv3d")


@pytest.mark.parametrize("edit", [
    lambda ed: ed.add_node("relu", (1, 2)),
    lambda ed: ed.remove_nodes(["c1"]),
    lambda ed: ed.remove_nodes(["r1", "fc"]),
    lambda ed: ed.remove_nodes([], [("r1", 0)]),
    lambda ed: ed.connect("x", "r1", 0),
    lambda ed: ed.disconnect("p1", 0),
    lambda ed: ed.set_params("c1", {"out_channels": 4, "kernel": 5, "padding": 2}),
    lambda ed: ed.set_trainable("fc", False),
    lambda ed: ed.move_nodes({"c1": (100, 5), "x": (0, 0)}),
    lambda ed: ed.rename("c1", "conv"),
    lambda ed: ed.set_name("renamed"),
    lambda ed: ed.set_description("a paragraph"),
    lambda ed: ed.paste(ed.copy(["c1", "r1"]), (30, 30)),
    lambda ed: ed.arrange(),
], ids=["add", "remove", "remove-two", "cut-wire", "connect", "disconnect", "params",
        "trainable", "move", "rename", "name", "description", "paste", "arrange"])
def test_undo_redo_restores_exact_text(editor, edit):
    check_undo_redo(editor, lambda: edit(editor))


def test_remove_restores_consumers_and_order(residual):
    before = dumps_graph(residual.doc)
    residual.remove_nodes(["r1", "x"])
    assert "r1" not in residual.doc.nodes["skip"].inputs
    assert residual.doc.nodes["cat"].inputs == ["r2"]
    residual.undo()
    assert dumps_graph(residual.doc) == before
    assert list(residual.doc.nodes)[:3] == ["x", "c1", "r1"]


def test_report_follows_every_edit_and_undo(editor):
    reports = []
    editor.report_changed.connect(reports.append)
    editor.set_params("c1", {"out_channels": 4, "kernel": 3, "padding": 1})
    assert editor.report.param_counts["c1"] == 4 * 9 + 4
    assert reports[-1] is editor.report and len(reports) == 1
    editor.undo()
    assert editor.report.param_counts["c1"] == 8 * 9 + 8


def test_connect_refuses_cycle_and_bad_port(editor):
    text = dumps_graph(editor.doc)
    with pytest.raises(EditError, match="cycle"):
        editor.connect("fc", "c1", 0)
    with pytest.raises(EditError, match="cycle"):
        editor.connect("c1", "c1", 0)
    with pytest.raises(EditError, match="at most 1 input"):
        editor.connect("x", "r1", 1)
    with pytest.raises(EditError, match="takes no inputs"):
        editor.connect("c1", "x", 0)
    with pytest.raises(EditError, match="no node"):
        editor.connect("nope", "r1", 0)
    assert dumps_graph(editor.doc) == text
    assert editor.undo_stack.count() == 0


def test_connect_that_does_not_fit_is_accepted_and_reported(residual):
    residual.connect("x", "skip", 1)  # 3×9×9 added to 4×9×9
    assert residual.doc.nodes["skip"].inputs == ["bn", "x"]
    assert "skip" in residual.report.errors


def test_connect_add_extra_port_appends(residual):
    residual.connect("c1", "skip", 2)
    assert residual.doc.nodes["skip"].inputs == ["bn", "r1", "c1"]
    with pytest.raises(EditError, match="no input port 4"):
        residual.connect("c1", "skip", 4)


def test_set_params_out_of_range_refused(editor):
    text = dumps_graph(editor.doc)
    with pytest.raises(EditError, match="at least 1"):
        editor.set_params("c1", {"out_channels": 0, "kernel": 3})
    with pytest.raises(EditError, match="no parameter 'size'"):
        editor.set_params("c1", {"out_channels": 4, "kernel": 3, "size": 2})
    with pytest.raises(EditError, match="needs parameter 'units'"):
        editor.set_params("fc", {})
    assert dumps_graph(editor.doc) == text
    assert editor.undo_stack.count() == 0


def test_moves_of_one_drag_merge(editor):
    before = dumps_graph(editor.doc)
    for x in range(5):
        editor.move_nodes({"c1": (float(x), 1.0)}, merge_key="drag-1")
    assert editor.undo_stack.count() == 1
    editor.undo()
    assert dumps_graph(editor.doc) == before


def test_set_document_clears_undo_and_is_clean(editor, qtbot):
    editor.add_node("relu")
    with qtbot.waitSignal(editor.document_replaced):
        editor.set_document(load_graph(RESIDUAL), RESIDUAL)
    assert editor.undo_stack.count() == 0 and not editor.is_modified
    assert editor.path == str(RESIDUAL) and editor.report.ok


def test_copy_paste_renames_and_keeps_inner_wires(editor):
    text = editor.copy(["c1", "r1", "fc"])
    new_ids = editor.paste(text, (50, 0))
    assert new_ids == ["conv2d_1", "relu_1", "dense_1"]
    assert editor.doc.nodes["relu_1"].inputs == ["conv2d_1"]
    assert editor.doc.nodes["conv2d_1"].inputs == []  # its input was not copied
    assert editor.doc.nodes["dense_1"].inputs == []
    assert editor.selection == new_ids
    assert editor.undo_stack.count() == 1


def test_paste_keeps_free_ids_and_offsets(editor):
    text = editor.copy(["c1"])
    editor.remove_nodes(["c1"])
    editor.move_nodes({"x": (0, 0)})
    [node_id] = editor.paste(text, (10, 20))
    assert node_id == "c1"
    assert editor.doc.nodes["c1"].pos == (10.0, 20.0)


def test_paste_garbage_refused(editor):
    with pytest.raises(EditError, match="cannot paste"):
        editor.paste("not json")


def test_rename_refuses_taken_and_bad_ids(editor):
    with pytest.raises(EditError, match="already"):
        editor.rename("c1", "r1")
    with pytest.raises(EditError, match="empty"):
        editor.rename("c1", "")
    editor.set_selection(["c1"])
    editor.rename("c1", "conv")
    assert editor.selection == ["conv"] and editor.doc.nodes["r1"].inputs == ["conv"]


def test_selection_drops_removed_nodes(editor, qtbot):
    editor.set_selection(["c1", "r1", "ghost"])
    assert editor.selection == ["c1", "r1"]
    with qtbot.waitSignal(editor.selection_changed):
        editor.remove_nodes(["c1"])
    assert editor.selection == ["r1"]


def test_arrange_places_columns_by_depth(residual):
    residual.arrange()
    pos = {node_id: node.pos for node_id, node in residual.doc.nodes.items()}
    assert pos["x"][0] < pos["c1"][0] < pos["r1"][0] < pos["c2"][0] < pos["loss"][0]
    assert residual.undo_stack.count() == 1


def test_layered_positions_layers_and_spacing():
    doc = load_graph(RESIDUAL)
    positions = layered_positions(doc, column_gap=100, row_gap=20)
    assert set(positions) == set(doc.nodes)
    xs = sorted({x for x, _ in positions.values()})
    assert positions["x"][0] == 0.0 and positions["skip"][0] > positions["bn"][0]
    assert all(b - a >= 100 for a, b in zip(xs, xs[1:]))


def test_layered_positions_stacks_a_column_without_overlap():
    from bpviz.graph import GraphDocument, NodeData

    doc = GraphDocument("", [NodeData("x", "input", params={"shape": [4]}),
                             NodeData("a", "relu", ["x"]), NodeData("b", "tanh", ["x"]),
                             NodeData("c", "sigmoid", ["x"]),
                             NodeData("s", "add", ["a", "b", "c"])])
    positions = layered_positions(doc, {"a": (100, 60), "b": (100, 90)}, row_gap=10)
    ys = [positions[n][1] for n in "abc"]
    assert ys[1] - ys[0] == pytest.approx(30 + 10 + 45)
    assert ys[0] - 30 == pytest.approx(-(ys[2] + 40))  # the column is centred on y = 0
    assert positions["s"][1] == 0.0


def test_layered_positions_survives_a_cycle():
    from bpviz.graph import GraphDocument, NodeData

    doc = GraphDocument("", [NodeData("x", "input", params={"shape": [4]}),
                             NodeData("a", "relu", ["x", "b"]), NodeData("b", "tanh", ["a"])])
    positions = layered_positions(doc)
    assert positions["a"][0] == positions["b"][0] > positions["x"][0]


def test_paste_without_positions_lays_the_fragment_out(editor):
    new_ids = editor.paste(editor.copy(["c1", "r1", "p1"]))
    positions = [editor.doc.nodes[node_id].pos for node_id in new_ids]
    assert None not in positions and len(set(positions)) == 3


def test_a_layer_too_big_for_any_pass_is_refused_before_anything_is_allocated(qapp):
    ed = GraphEditor(load_graph(EXAMPLES / "two_layer_classifier.json"))
    ed.set_params("x", {"shape": [100_000]})
    text, steps = dumps_graph(ed.doc), ed.undo_stack.count()
    with pytest.raises(EditError) as refused:
        ed.set_params("hidden", {"units": 100_000})
    # W is 100000×100000 and b 100000 values, 8 bytes each in float64: 74.51 GiB
    weight_gib = (100_000 * 100_000 + 100_000) * 8 / 2**30
    assert f"{weight_gib:.2f} GiB" in str(refused.value)
    assert "more than the limit of 4.00 GiB" in str(refused.value)
    assert refused.value.node == "hidden"
    assert dumps_graph(ed.doc) == text and ed.undo_stack.count() == steps


def test_a_wire_that_makes_a_layer_too_big_is_refused(qapp):
    ed = GraphEditor(load_graph(EXAMPLES / "two_layer_classifier.json"))
    ed.set_params("hidden", {"units": 1_000_000})  # 2 inputs: 3 million parameters, fine
    wide = ed.add_node("input", params={"shape": [784]})
    text = dumps_graph(ed.doc)
    with pytest.raises(EditError, match="the largest node is dense 'hidden'"):
        ed.connect(wide, "hidden", 0)  # 784 inputs: 785 million parameters
    assert dumps_graph(ed.doc) == text
    ed.set_params("hidden", {"units": 1000})
    ed.connect(wide, "hidden", 0)  # a layer that fits is wired as before
    assert ed.doc.nodes["hidden"].inputs == [wide]
