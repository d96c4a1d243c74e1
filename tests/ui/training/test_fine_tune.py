"""Freeze, train, unfreeze, train again: the second run starts from the trained weights."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from bpviz.graph import GraphDocument, NodeData  # noqa: E402
from bpviz.workspace.trained import structure  # noqa: E402
from tests.ui.training.panelkit import wait_idle  # noqa: E402

BATCH = 256  # more than moons' 160 training samples: every iteration sees them all


def frozen_body_graph() -> GraphDocument:
    return GraphDocument("frozen body", [
        NodeData("x", "input", [], {"shape": [2]}),
        NodeData("body", "dense", ["x"], {"units": 8}, trainable=False),
        NodeData("act", "relu", ["body"]),
        NodeData("head", "dense", ["act"], {"units": 2}),
        NodeData("loss", "softmax_cross_entropy", ["head"])])


def training_loss(doc: GraphDocument, config, tensors: dict | None) -> float:
    """The mean loss over the whole training split with `tensors` (None: the seed's)."""
    from bpviz.data.fit import prepare
    from bpviz.engine.optim import make_optimizer
    from bpviz.engine.trainer import Trainer
    from bpviz.graph import build_network
    from bpviz.graph.weights import assign_tensors

    network = build_network(doc, seed=config.seed, dtype=np.dtype(config.dtype))
    if tensors is not None:
        assign_tensors(network, tensors)
    train = prepare(config.dataset, network, seed=config.seed,
                    val_fraction=config.val_fraction).train
    trainer = Trainer(network, make_optimizer("sgd", network, lr=0.0), (train.x, train.y))
    loss, _accuracy = trainer.evaluate(train.x, train.y)
    return loss


def first_loss(panel) -> float:
    return panel.metrics.rows[0]["loss"]


def test_unfreezing_keeps_the_trained_weights_and_the_next_run_starts_from_them(
        qtbot, make_panel):
    doc = frozen_body_graph()
    panel = make_panel(doc, epochs=20, batch=BATCH)
    assert panel.start()
    wait_idle(qtbot, panel)
    trained = panel.trained
    assert trained is not None and panel.info.nodes == ("head",)
    tensors = trained.tensors()
    seed_loss = training_loss(doc, trained.config, None)
    assert first_loss(panel) == pytest.approx(seed_loss, rel=1e-4)

    panel.editor.set_trainable("body", True)
    assert trained.fits(panel.editor.doc)  # unfreezing changes no shape
    assert structure(panel.editor.doc) == structure(trained.doc)
    assert panel.trained_start(panel.editor.doc)[1] == "trained weights"

    assert panel.start()
    wait_idle(qtbot, panel)
    assert panel.info.start == "trained weights" and panel.info.nodes == ("body", "head")
    assert "from the trained weights" in panel.controls.status.toolTip()
    expected = training_loss(panel.editor.doc, trained.config, tensors)
    assert abs(expected - seed_loss) > 1e-3  # the first run did learn something
    assert first_loss(panel) == pytest.approx(expected, rel=1e-4)
    body = panel.trained.tensors()["body/weight"]
    assert not np.allclose(body, tensors["body/weight"])  # unfrozen: it trained


def test_unfreezing_while_training_is_reported_but_the_weights_still_fit(qtbot, make_panel):
    panel = make_panel(frozen_body_graph(), epochs=100000, batch=BATCH)
    assert panel.start()
    qtbot.waitUntil(lambda: len(panel.metrics.rows) > 5, timeout=60_000)
    panel.editor.set_trainable("body", True)
    qtbot.waitUntil(lambda: "the graph has changed" in panel.controls.status.toolTip(),
                    timeout=5000)
    panel.stop()
    wait_idle(qtbot, panel)
    status = panel.controls.status.toolTip()
    assert "the graph has changed since Train" in status
    assert "the weights fit the graph as it was" not in status
    assert panel.trained.fits(panel.editor.doc)
