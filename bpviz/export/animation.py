"""The whole forward and backward pass as an animation: one frame per step.

Each frame is the canvas at that step (as GraphExporter draws one step),
with the step's formula as its caption (describe_step's title, its formula
lines with shapes and, muted, where the upstream gradient comes from: see
bpviz.export.caption) and the colour bar of the wires' gradient norms. All
frames show the same part of the scene at the same size, with room for the
tallest caption, so they line up. `layout="slide"` wraps a long graph into
rows that fit a slide (bpviz.export.slide), as the graph figures do.

GifExporter writes an animated GIF with Pillow (Qt cannot write GIFs): each
frame gets its own 256-colour palette, without dithering, so lines and text
stay crisp; it loops forever and holds the last frame longer. FramesExporter
writes numbered PNGs (frame_0001.png …) into a folder, for slides or video
tools; a re-export removes frames of an earlier, longer one.

Progress: `progress(done, total)` after every frame (and once more while the
GIF is encoded); `cancel()` stops at the next frame and writes nothing.
Frames are rendered in the thread that owns the canvas (the GUI thread).
"""

from __future__ import annotations

import io

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage

from bpviz.engine.stepping import StepSession
from bpviz.export.base import Exporter, ExportError, Progress, ensure_app, png_bytes
from bpviz.export.devices import check_dpi, raster_image, raster_size
from bpviz.export.figure import SceneFigure, step_state
from bpviz.export.paint import CAPTION_HEIGHT, LEGEND_HEIGHT, FigurePainter, caption_height
from bpviz.export.slide import SLIDE_ASPECT, check_layout
from bpviz.graph import GraphDocument

FRAME_MS = 1200
LAST_FRAME_FACTOR = 3
MAX_FRAMES = 2000


class FramesExporter(Exporter):
    """One image per step of `session`'s pass (a folder of numbered PNGs)."""

    extensions = ("",)
    folder_pattern = "frame_*.png"

    def __init__(self, document: GraphDocument, session: StepSession, theme: str = "light",
                 dpi: float | None = None, transparent: bool = False,
                 layout: str = "canvas", aspect: float = SLIDE_ASPECT,
                 progress: Progress | None = None) -> None:
        super().__init__(progress)
        dpi = None if dpi is None else check_dpi(dpi)
        if not session.steps:
            raise ExportError("the pass has no steps to animate")
        if len(session.steps) > MAX_FRAMES:
            raise ExportError(f"{len(session.steps)} steps are too many frames "
                              f"(at most {MAX_FRAMES})")
        ensure_app()
        self.document, self.session = document, session
        self.theme, self.dpi, self.transparent = theme, dpi, transparent
        self.layout, self.aspect = check_layout(layout), aspect

    @property
    def frame_count(self) -> int:
        return len(self.session.steps)

    def _figure(self) -> SceneFigure:
        return SceneFigure(self.document, self.theme, self.layout, self.aspect,
                           reserve_height=CAPTION_HEIGHT + LEGEND_HEIGHT)

    def _frame_all(self, figure: SceneFigure) -> tuple[list, QRectF, float]:
        """Every step's state, the bounds that frame them all, the caption's height."""
        states = [step_state(self.session, position) for position in range(self.frame_count)]
        bounds = QRectF()
        for state in states:  # labels change from step to step: frame them all
            figure.show(state)
            bounds = bounds.united(figure.bounds())
        return states, bounds, caption_height(states, bounds)

    def frame_size(self) -> tuple[int, int]:
        """The pixels (width, height) every frame is written with."""
        figure = self._figure()
        try:
            states, bounds, top = self._frame_all(figure)
            figure.show(states[-1])
            painter = FigurePainter(figure, caption=True, legend=True,
                                    transparent=self.transparent, bounds=bounds,
                                    caption_height=top)
            return raster_size(painter.size(), self.dpi)
        finally:
            figure.close()

    def data(self) -> list[QImage]:
        """The frames, in step order."""
        figure = self._figure()
        try:
            total = self.frame_count
            states, bounds, top = self._frame_all(figure)
            frames = []
            for position, state in enumerate(states):
                self.report(position, total)
                figure.show(state)
                painter = FigurePainter(figure, caption=True, legend=True,
                                        transparent=self.transparent, bounds=bounds,
                                        caption_height=top)
                frames.append(raster_image(painter.size(), painter.paint, self.dpi))
            self.report(total, total)
            return frames
        finally:
            figure.close()

    def encode(self, data: list[QImage]) -> dict[str, bytes]:
        digits = max(4, len(str(len(data))))
        return {f"frame_{index + 1:0{digits}d}.png": png_bytes(image)
                for index, image in enumerate(data)}


class GifExporter(FramesExporter):
    """The frames as one animated GIF."""

    extensions = (".gif",)
    folder_pattern = None

    def __init__(self, *args, frame_ms: int = FRAME_MS, **options) -> None:
        options["transparent"] = False  # a GIF's one-bit transparency would fray the text
        super().__init__(*args, **options)
        if frame_ms < 20:
            raise ExportError(f"a frame must show for at least 20 ms, got {frame_ms}")
        self.frame_ms = frame_ms

    def export(self, path=None):
        """Without a path: the GIF file's bytes. With one: the GIF written there."""
        if path is None:
            self._cancel.clear()
            return self.encode(self.data())
        return super().export(path)

    def encode(self, data: list[QImage]) -> bytes:
        try:
            from PIL import Image
        except ImportError:  # a declared dependency; this only guards a broken install
            raise ExportError("writing a GIF needs Pillow (pip install Pillow)") from None
        self.report(len(data), len(data))
        frames = [_to_pillow(image).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                             dither=Image.Dither.NONE) for image in data]
        durations = [self.frame_ms] * len(frames)
        durations[-1] *= LAST_FRAME_FACTOR
        buffer = io.BytesIO()
        frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:],
                       duration=durations, loop=0, optimize=False, disposal=1)
        return buffer.getvalue()


def _to_pillow(image: QImage):
    """A QImage (opaque) as an RGB Pillow image."""
    from PIL import Image

    rgb = image.convertToFormat(QImage.Format.Format_RGB888)
    width, height = rgb.width(), rgb.height()
    data = bytes(rgb.constBits())
    return Image.frombuffer("RGB", (width, height), data, "raw", "RGB", rgb.bytesPerLine(), 1)
