"""A picture as the pass's input: read with Pillow, fitted to the input, sample 0 of the batch."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bpviz.workspace.input_image import fit_image, read_image


def picture(tmp_path, name="digit.png", size=(40, 40), background="white", ink="black"):
    image = Image.new("RGB", size, background)
    ImageDraw.Draw(image).rectangle((size[0] // 4, size[1] // 4, 3 * size[0] // 4 - 1,
                                     3 * size[1] // 4 - 1), fill=ink)
    path = tmp_path / name
    image.save(path)
    return path


def test_a_dark_drawing_on_white_becomes_light_ink_on_black(tmp_path):
    fitted = fit_image(read_image(str(picture(tmp_path))), (1, 8, 8))
    sample = fitted.sample
    assert sample.shape == (1, 8, 8)
    assert np.allclose(sample[0, 3:5, 3:5], 1.0)  # the black square, inverted
    assert sample[0, 2:6, 2:6].min() > 0.8  # (Lanczos softens its edges a little)
    assert np.allclose(sample[0, [0, 7], :], 0.0)  # the white paper
    assert "inverted" in fitted.description and "8×8 grey" in fitted.description


def test_rgb_keeps_its_channels_in_order_and_a_flat_input_takes_a_square(tmp_path):
    red = picture(tmp_path, "red.jpg", (30, 20), background="red", ink="red")
    fitted = fit_image(read_image(str(red)), (3, 6, 6))
    assert fitted.sample.shape == (3, 6, 6)
    assert np.allclose(fitted.sample[0], 1.0, atol=0.03)  # JPEG is lossy
    assert np.allclose(fitted.sample[1:], 0.0, atol=0.03)
    assert "not inverted" not in fitted.description and "RGB" in fitted.description
    flat = fit_image(read_image(str(picture(tmp_path))), (64,))
    assert flat.sample.shape == (64,)
    assert np.array_equal(flat.sample, fit_image(read_image(str(picture(tmp_path))),
                                                 (1, 8, 8)).sample.reshape(-1))


def test_a_transparent_picture_lies_on_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (8, 8), (0, 0, 0, 0)).save(path)
    assert np.allclose(read_image(str(path)).pixels, 1.0)


@pytest.mark.parametrize("content, words", [
    (b"this is not a picture", "not a picture Pillow can read"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "cannot be read"),
])
def test_a_file_that_is_no_picture_is_named_in_the_message(tmp_path, content, words):
    path = tmp_path / "broken.png"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words) as error:
        read_image(str(path))
    assert str(path) in str(error.value)


def test_an_input_that_takes_no_picture_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a picture fits an input of"):
        fit_image(read_image(str(picture(tmp_path))), (2,))


def test_the_pass_runs_on_the_picture_as_sample_0(workspace_on, tmp_path):
    workspace, events = workspace_on("tiny_cnn")
    assert workspace.build_pass() is None
    plain = workspace.session.feeds["x"].copy()
    image = read_image(str(picture(tmp_path)))
    workspace.set_input_image(image)
    assert workspace.built is None  # the pass went
    assert ("input_image_changed", {"image": image}) in events
    assert "digit.png" in workspace.weights_label()[1]
    assert workspace.build_pass() is None
    feeds = workspace.session.feeds["x"]
    assert np.array_equal(feeds[0], fit_image(image, (1, 8, 8)).sample)
    assert np.array_equal(feeds[1:], plain[1:])  # the rest of the batch as it was
    assert workspace.built.batch.startswith("digit.png: 8×8 grey")
    workspace.set_document(workspace.doc)  # a new document forgets it
    assert workspace.input_image is None
    assert events[-2] == ("input_image_changed", {"image": None})


def test_a_graph_whose_input_takes_no_picture_refuses_it(workspace_on, tmp_path):
    workspace, _ = workspace_on("moons_mlp")
    with pytest.raises(ValueError, match="digit.png cannot be the input"):
        workspace.set_input_image(read_image(str(picture(tmp_path))))
    assert workspace.input_image is None
