"""Decision-boundary pictures, the plots' data and the job's own process, without widgets."""

from __future__ import annotations

import numpy as np
import pytest

from bpviz.data import Normalizer
from bpviz.graph import build_network, load_graph
from bpviz.ui.training.boundary import Grid, class_colour, class_probabilities, colour_image
from bpviz.ui.training.worker import TrainConfig, TrainingRun
from tests.ui.windowkit import EXAMPLES


def test_probabilities_follow_the_loss():
    logits = np.array([[0.0, 0.0], [10.0, -10.0]])
    np.testing.assert_allclose(class_probabilities(logits, "softmax_cross_entropy"),
                               [[0.5, 0.5], [1, 0]], atol=1e-8)
    one = np.array([[0.0], [100.0]])
    np.testing.assert_allclose(class_probabilities(one, "bce_with_logits"), [[0.5, 0.5], [0, 1]])
    np.testing.assert_allclose(class_probabilities(np.array([[0.2], [1.7]]), "bce"),
                               [[0.8, 0.2], [0, 1]])


def test_the_image_mixes_class_colours_and_draws_the_boundary_dark():
    probs = np.zeros((4 * 6, 2))
    probs[:, 0] = np.tile([1, 1, 1, 0, 0, 0], 4)  # left half class 0, right half class 1
    probs[:, 1] = 1 - probs[:, 0]
    image, edge = colour_image(probs, 4, 6)
    assert image.shape == (4, 6, 4) and image.dtype == np.uint8
    assert (image[..., 3] == 153).all()  # sure everywhere: 60 % opaque
    assert class_colour(0) == "#0072B2" and class_colour(1) == "#D55E00"
    assert tuple(image[0, 0, :3]) == (0x00, 0x72, 0xB2)
    assert tuple(image[0, 5, :3]) == (0xD5, 0x5E, 0x00)
    assert edge[:, 3].all() and edge.sum() == 4  # where the class changes


def test_the_grid_covers_the_data_and_leaves_the_network_training():
    network = build_network(load_graph(EXAMPLES / "moons_mlp.json"))
    x = np.array([[0.0, 0.0], [2.0, 1.0]])
    grid = Grid.around(x, network, Normalizer.fit(x), size=8)
    x0, y0, width, height = grid.extent
    assert (x0, y0) == pytest.approx((-0.2, -0.1)) and (width, height) == pytest.approx((2.4, 1.2))
    picture = grid.evaluate(7)
    assert picture.rgba.shape == (8, 8, 4) and picture.edge.shape == (8, 8)
    assert picture.iteration == 7
    assert all(node.op.training for node in network.order)


def test_a_run_reports_and_hands_back_the_trained_weights():
    run = TrainingRun(load_graph(EXAMPLES / "moons_mlp.json"), TrainConfig(epochs=4))
    run.start()
    # NOTE: read while it runs, as the panel's timer does: a job whose news nobody
    # reads blocks once the pipe is full (a slow run sends two boundary pictures).
    update = run.drain()
    for _ in range(6000):  # up to a minute
        if not run.running:
            break
        run.join(0.01)
        update.merge(run.drain())
    assert run.join(60)
    assert not run.running and update.error is None
    assert update.stopped.reason == "finished" and update.iterations == list(range(1, 21))
    assert [e.epoch for e in update.epochs] == [1, 2, 3, 4]
    assert set(update.grad_norms) == {"hidden", "out"} and update.boundary is not None
    assert run.info.total_iterations == 20 and run.info.points[0].shape == (200, 2)
    assert run.network.nodes["hidden"].op.params["weight"].dtype == np.float32
    fresh = build_network(load_graph(EXAMPLES / "moons_mlp.json"), dtype=np.float32)
    assert not np.allclose(fresh.nodes["hidden"].op.params["weight"],
                           run.network.nodes["hidden"].op.params["weight"])


def test_traces_thin_themselves_on_long_runs():
    from bpviz.ui.training.curves import Trace

    trace = Trace(cap=10)
    for start in range(0, 100, 7):
        xs = np.arange(start, min(start + 7, 100))
        trace.extend(xs, 2 * xs)
    assert trace.seen == 100 and trace.x.size <= 10 and trace.stride == 16
    np.testing.assert_array_equal(trace.x.values, np.arange(0, 100, 16))
    np.testing.assert_array_equal(trace.y.values, 2 * trace.x.values)
    trace.clear()
    assert (trace.seen, trace.stride, trace.x.size) == (0, 1, 0)


def test_the_boundary_line_runs_between_the_grids_points():
    from bpviz.ui.training.boundary import boundary_lines, zero_lines

    centres = (np.arange(96) + 0.5) * 4 / 96 - 2
    gx, gy = np.meshgrid(centres, centres)
    segments = zero_lines(gx ** 2 + gy ** 2 - 1, (-2, -2, 4, 4))  # the unit circle
    assert segments.shape[1] == 2 and len(segments) % 2 == 0 and len(segments) > 100
    np.testing.assert_allclose(np.hypot(*segments.T), 1, atol=2e-3)
    probs = np.zeros((8 * 8, 3))
    probs[np.arange(64), np.tile([0, 0, 0, 1, 1, 2, 2, 2], 8)] = 1  # three bands
    lines = boundary_lines(probs, 8, 8, (0, 0, 8, 8))
    assert sorted(set(np.round(lines[:, 0], 6))) == [3.0, 5.0]  # midway between columns
