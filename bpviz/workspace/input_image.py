"""A picture as the pass's input (File › Use Image as Input…), without Qt.

`read_image(path)` opens a PNG or JPEG (any format Pillow reads) and keeps
its pixels as RGB in [0, 1] (transparency over white); a file that is not a
picture gives a ValueError that names it. `fit_image(image, shape, …)` turns
it into one sample of the graph's input:

* the shape: [C, H, W] with C = 1 (grey: the luma of ITU-R 601) or C = 3
  (RGB), or a flat [H·W] or [3·H·W] vector of a square picture (an MLP on
  the digits); the picture is resized to H × W (Pillow's Lanczos filter,
  its aspect ratio not kept: the whole picture goes in);
* the values: the pixels in [0, 1], as the bundled image sets (digits,
  shapes) are; a grey picture that is mostly light is inverted, since those
  sets draw light ink on black, and a photographed digit is dark ink on
  paper; with trained weights, standardised as training fed its data.

What was chosen is said in `FittedImage.description`. In a pass the picture
is sample 0 of the batch; the other samples stay (a batch's statistics, a
batchnorm's among them, need more than one sample).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bpviz.workspace.sources import RANDOM_BATCH

MAX_SIDE = 2048  # larger pictures are shrunk when read: the inputs are far smaller


@dataclass(frozen=True)
class InputImage:
    path: str
    pixels: np.ndarray  # [H, W, 3] RGB in [0, 1]

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class FittedImage:
    sample: np.ndarray  # one sample of the input's shape
    description: str  # "digit.png: 8×8 grey, scaled to [0, 1], inverted (light background)"


def read_image(path: str) -> InputImage:
    """The picture in `path`; ValueError (naming the file) when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as opened:
            opened.load()
            picture = opened
            if picture.mode in ("RGBA", "LA", "P", "PA"):
                picture = picture.convert("RGBA")
                white = Image.new("RGBA", picture.size, (255, 255, 255, 255))
                picture = Image.alpha_composite(white, picture)
            picture = picture.convert("RGB")
            if max(picture.size) > MAX_SIDE:
                picture.thumbnail((MAX_SIDE, MAX_SIDE))
            pixels = np.asarray(picture, dtype=np.float64) / 255.0
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except UnidentifiedImageError:
        raise ValueError(f"{path} is not a picture Pillow can read (PNG, JPEG, …)") from None
    except (OSError, ValueError, SyntaxError) as error:  # truncated or broken files
        raise ValueError(f"{path} cannot be read as a picture: {error}") from None
    if pixels.size == 0:
        raise ValueError(f"{path} is an empty picture")
    return InputImage(str(path), pixels)


def image_layout(shape: tuple[int, ...]) -> tuple[int, int, int, bool] | None:
    """(channels, height, width, flat) a picture must take for an input of `shape`,
    or None when no picture fits it."""
    if len(shape) == 3 and shape[0] in (1, 3):
        return shape[0], shape[1], shape[2], False
    if len(shape) == 1:
        for channels in (1, 3):
            side = math.isqrt(shape[0] // channels)
            if channels * side * side == shape[0] and side > 1:
                return channels, side, side, True
    return None


def fit_problem(shape: tuple[int, ...]) -> str | None:
    """Why no picture can be the input of `shape`, or None."""
    if image_layout(shape) is None:
        dims = "×".join(str(d) for d in shape)
        return (f"the input takes {dims} values: a picture fits an input of 1×H×W (grey), "
                f"3×H×W (RGB) or a flat H·W or 3·H·W vector of a square picture")
    return None


def fit_image(image: InputImage, shape: tuple[int, ...], normalizer=None,
              dtype=np.float64) -> FittedImage:
    """`image` as one sample of an input of `shape` (see the module's docstring)."""
    from PIL import Image

    problem = fit_problem(shape)
    if problem is not None:
        raise ValueError(f"{image.name}: {problem}")
    channels, height, width, flat = image_layout(shape)
    picture = Image.fromarray(np.round(image.pixels * 255).astype(np.uint8), "RGB")
    picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    notes = [f"{height}×{width} {'grey' if channels == 1 else 'RGB'}", "scaled to [0, 1]"]
    if channels == 1:
        values = np.asarray(picture.convert("L"), dtype=np.float64)[None] / 255.0
        if values.mean() > 0.5:
            values = 1.0 - values
            notes.append("inverted (a light background: the image sets draw light on dark)")
    else:
        values = np.asarray(picture, dtype=np.float64).transpose(2, 0, 1) / 255.0
    sample = values.reshape(-1) if flat else values
    if normalizer is not None:
        sample = normalizer.apply(sample[None])[0]
        notes.append("standardised as training fed its data")
    return FittedImage(sample.astype(dtype), f"{image.name}: " + ", ".join(notes))


def with_image(feeds: dict, input_id: str, fitted: FittedImage) -> dict:
    """`feeds` with `fitted` as sample 0 of input `input_id`."""
    batch = np.array(feeds[input_id], copy=True)
    batch[0] = fitted.sample.astype(batch.dtype)
    return {**feeds, input_id: batch}


def image_feeds(made, image: InputImage, feeds: dict, batch: str) -> tuple[dict, str]:
    """(feeds, what the batch is) with `image` as sample 0 of the network's first
    input; trained weights whose data the batch came from standardise it as
    training did. ValueError when the picture cannot be that input."""
    network = made.network
    input_id = network.inputs[0]
    x = feeds[input_id]
    data = made.source.data if made.source is not None else None
    normalizer = data.normalizer if data is not None and batch != RANDOM_BATCH else None
    fitted = fit_image(image, tuple(x.shape[1:]), normalizer, x.dtype)
    others = len(x) - 1
    rest = f" and {others} of {batch}" if others else ""
    where = f" of input '{input_id}'" if len(network.inputs) > 1 else ""
    return with_image(feeds, input_id, fitted), f"{fitted.description} (sample 0{where}){rest}"
