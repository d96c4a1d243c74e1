"""Shaping a dataset to a graph: the part `bpviz train` and the training panel share."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.data import DataError
from bpviz.data.fit import default_epochs, graph_io, image_size, prepare
from bpviz.graph import build_network, load_graph
from tests.ui.windowkit import EXAMPLES


def network(name: str):
    return build_network(load_graph(EXAMPLES / f"{name}.json"))


def test_graph_io_names_the_ends():
    ends = graph_io(network("moons_mlp"))
    assert (ends.input_id, ends.input_shape, ends.loss_id, ends.loss_op, ends.pred_id,
            ends.outputs) == ("x", (2,), "loss", "softmax_cross_entropy", "out", 2)


def test_prepare_splits_and_standardises_with_training_statistics():
    prepared = prepare("moons", network("moons_mlp"), seed=3, val_fraction=0.25)
    assert len(prepared.train) + len(prepared.val) == len(prepared.dataset)
    assert len(prepared.val) == round(0.25 * len(prepared.dataset))
    np.testing.assert_allclose(prepared.train.x.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(prepared.normalizer.apply(prepared.dataset.x[:1]),
                               (prepared.dataset.x[:1] - prepared.normalizer.mean)
                               / prepared.normalizer.std)


def test_images_are_flattened_for_a_flat_input_of_the_same_size():
    assert image_size((1, 8, 8)) == 8 and image_size((64,)) == 8 and image_size((3,)) is None
    doc = load_graph(EXAMPLES / "moons_mlp.json")
    doc.set_params("x", {"shape": [64]})
    doc.set_params("out", {"units": 10})
    prepared = prepare("digits", build_network(doc))
    assert prepared.train.sample_shape == (64,)


@pytest.mark.parametrize(("spec", "message"), [
    ("blobs", "blobs has 3 classes"),
    ("digits", "the digits images are 1×8×8 but the graph's input 'x' expects 2"),
])
def test_data_that_do_not_fit_say_why(spec, message):
    with pytest.raises(DataError, match=message):
        prepare(spec, network("moons_mlp"))


def test_who_starts_the_message_about_the_graph():
    doc = load_graph(EXAMPLES / "moons_mlp.json")
    doc.remove_node("loss")
    with pytest.raises(DataError, match="^bpviz train needs a graph with one loss node"):
        graph_io(build_network(doc), who="bpviz train")


def test_default_epochs_reach_a_thousand_iterations_on_small_data():
    assert default_epochs(160, 32) == 200
    assert default_epochs(100000, 32) == 10
