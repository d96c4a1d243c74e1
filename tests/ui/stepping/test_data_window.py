"""The data in the window: the batch as pictures, y beside ŷ, a picture as the input."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from bpviz.graph.batch import random_batch
from bpviz.workspace.input_image import fit_image, read_image
from tests.ui.eventloop import settle
from tests.ui.windowkit import EXAMPLES, fitted_and_stepped, make_window

DIGITS_CNN = EXAMPLES / "digits_cnn.json"


def a_digit(tmp_path):
    image = Image.new("RGB", (48, 48), "white")
    ImageDraw.Draw(image).ellipse((12, 6, 36, 42), outline="black", width=6)
    path = tmp_path / "zero.png"
    image.save(path)
    return path


def test_the_input_step_shows_the_batch_as_pictures_saying_they_are_noise(qtbot):
    window, _ = fitted_and_stepped(qtbot, DIGITS_CNN, 1)
    tensors = window.stepping.tensors
    assert tensors.current_key() == "images"  # the input step opens on the pictures
    session = window.workspace.session
    feeds, targets = random_batch(session.network, 4, 0, np.float64)  # no data: seed 0
    assert np.array_equal(session.feeds["x"], feeds["x"])
    assert np.array_equal(session.targets["loss"], targets["loss"])
    labels = [str(int(k)) for k in session.targets["loss"]]
    assert tensors.batch_images.titles == [f"sample {k} · random, y = {label}"
                                           for k, label in enumerate(labels)]
    assert tensors.batch_images.heading.startswith("random input, no data loaded")
    assert tensors.status.text().startswith("random input, no data loaded")
    shown = tensors.batch_images.images[2].image
    x = session.feeds["x"][2, 0]
    assert np.allclose(shown, (x - x.min()) / (x.max() - x.min()))


def test_the_loss_step_shows_y_beside_its_prediction(qtbot):
    window, _ = fitted_and_stepped(qtbot, DIGITS_CNN, 12)
    tensors = window.stepping.tensors
    assert window.workspace.session.current.node == "loss"
    assert tensors.current_key() == "target"  # the loss step opens on what it compares
    session = window.workspace.session
    y, z = session.targets["loss"], session.current.inputs[0]
    for sample in (0, 3):
        tensors.set_sample(sample)
        settle()
        p = np.exp(z[sample] - z[sample].max())
        p /= p.sum()
        assert tensors.target_view.marked == int(y[sample])
        assert f"y = {int(y[sample])} · ŷ = softmax(z) picks {int(np.argmax(p))}" in \
            tensors.target_view.text
        assert f"ŷ_y = {p[int(y[sample])]:.3g}" in tensors.target_view.text


def test_use_image_as_input_runs_the_pass_on_the_picture(qtbot, tmp_path):
    window, answers = make_window(qtbot, DIGITS_CNN)
    window.stepping.synchronous = True
    files = window.input_image
    files.ask_image_path = lambda: str(a_digit(tmp_path))
    assert files.use_action in window.menuBar().actions()[0].menu().actions()
    assert files.choose()
    assert "on zero.png" in window.stepping.bar.weights.text()
    window.stepping.request("step")
    settle()
    x = window.workspace.session.feeds["x"]
    expected = fit_image(read_image(str(a_digit(tmp_path))), (1, 8, 8)).sample
    assert np.array_equal(x[0], expected)
    assert "on zero.png" in window.stepping.bar.weights.text()
    titles = window.stepping.tensors.batch_images.titles  # the picture, then noise
    assert titles[0].startswith("sample 0 · y = ")
    assert all(title.startswith(f"sample {k} · random") for k, title in enumerate(titles[1:], 1))
    assert "samples 1–3: noise" in window.stepping.tensors.batch_images.heading
    files.forget()
    assert window.workspace.input_image is None and window.workspace.built is None
    assert "zero.png" not in window.stepping.bar.weights.text()
    assert answers.errors == []


def test_a_broken_picture_gets_a_message_and_changes_nothing(qtbot, tmp_path):
    window, answers = make_window(qtbot, DIGITS_CNN)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    assert not window.input_image.use(str(broken))
    assert answers.errors and answers.errors[0][0] == "Cannot use the image as input"
    assert str(broken) in answers.errors[0][1]
    assert window.workspace.input_image is None


def test_a_graph_that_takes_no_picture_says_so(qtbot, tmp_path):
    window, answers = make_window(qtbot)  # the two-layer classifier: 2 numbers in
    assert not window.input_image.use(str(a_digit(tmp_path)))
    assert "a picture fits an input of" in answers.errors[0][1]
