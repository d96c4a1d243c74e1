"""Heatmaps: a PNG per tensor, diverging around zero for gradients, sequential for outputs."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bpviz.export.colours import DIVERGING, SEQUENTIAL, colour_at
from bpviz.export.heatmaps import HeatmapExporter, file_name, heatmap_image, tiles_of
from bpviz.export.tensors import collect_tensors
from tests.export.helpers import TINY, session_for


def test_one_png_per_tensor(qapp, tmp_path):
    *_, session = session_for(TINY)
    tensors = {k: v for k, v in collect_tensors(session).items() if np.ndim(v) > 0}
    HeatmapExporter(session).export(tmp_path / "maps")
    names = sorted(p.name for p in (tmp_path / "maps").glob("*.png"))
    assert names == sorted(file_name(key) for key in tensors)
    with Image.open(tmp_path / "maps" / "c1__out.png") as image:
        assert image.size[0] > 300 and image.size[1] > 100


def test_tiles_per_channel_and_per_kernel():
    maps, titles = tiles_of("c1/out", np.zeros((2, 8, 5, 5)), sample=1)
    assert len(maps) == 8 and maps[0].shape == (5, 5) and titles[3] == "channel 3"
    maps, _ = tiles_of("c1/param/weight", np.zeros((4, 3, 3, 3)))
    assert len(maps) == 12
    maps, _ = tiles_of("fc/grad_out", np.zeros((2, 70)))
    assert maps[0].shape == (3, 32)  # a long vector wraps into rows


def test_zero_gradient_is_the_middle_of_the_diverging_map(qapp):
    gradient = np.zeros((1, 1, 4, 4))
    gradient[0, 0, 0, 0], gradient[0, 0, 3, 3] = -2.0, 2.0
    image = heatmap_image("c1/grad_out", gradient)
    middle = colour_at(DIVERGING, 0.5)
    found = {image.pixelColor(x, y).name() for x in range(image.width())
             for y in range(image.height())}
    assert middle.name() in found
    assert colour_at(DIVERGING, 0.0).name() in found and colour_at(DIVERGING, 1.0).name() in found
    activation = heatmap_image("c1/out", np.arange(16.0).reshape(1, 1, 4, 4))
    colours = {activation.pixelColor(x, y).name() for x in range(activation.width())
               for y in range(activation.height())}
    assert colour_at(SEQUENTIAL, 0.0).name() in colours
