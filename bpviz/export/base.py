"""What every exporter shares: `export(path=None)`, atomic writes, progress and cancel.

An Exporter makes its result in memory first (`data()`), so a failure or a
cancel never leaves a half-written file: `export(path)` then writes it with
bpviz.atomic.atomic_write (a temporary file beside the target, renamed over
it). `export()` without a path returns the result instead (pyqtgraph's
convention), so tests and the app need no file dialog.

Outputs of several files (one CSV or PNG per tensor, numbered frames) go to a
folder: every file is written atomically, after all of them were made; files
of an earlier export of the same kind that this one did not write again are
removed, so a folder never mixes two exports.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from bpviz.atomic import atomic_write

Progress = Callable[[int, int], None]  # (done, total)


class ExportError(ValueError):
    """The export cannot be made as asked; the message says why."""


class ExportCancelled(Exception):
    """`cancel()` was called while the export ran; nothing was written."""


class Exporter:
    """Base class: subclasses implement `data()` and `encode(data)`.

    `encode` returns bytes for one file, or {file name: bytes} for a folder.
    `progress(done, total)` is called while long exports run (from the thread
    that runs them); `cancel()` may be called from any thread.
    """

    extensions: tuple[str, ...] = ()
    folder_pattern: str | None = None  # glob of the files a folder export owns

    def __init__(self, progress: Progress | None = None) -> None:
        self.progress = progress
        self._cancel = threading.Event()

    # -- control ----------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, done: int, total: int) -> None:
        """Tell the progress callback, and stop here when cancelled."""
        if self._cancel.is_set():
            raise ExportCancelled("export cancelled")
        if self.progress is not None:
            self.progress(done, total)

    # -- the result -------------------------------------------------------
    def data(self) -> Any:
        raise NotImplementedError

    def encode(self, data: Any) -> bytes | dict[str, bytes]:
        raise NotImplementedError

    def export(self, path: str | os.PathLike | None = None) -> Any:
        """Without a path: the result (bytes, a QImage, arrays …). With one: write it
        atomically and return the Path written."""
        self._cancel.clear()
        result = self.data()
        if path is None:
            return result
        encoded = self.encode(result)
        if self.cancelled:
            raise ExportCancelled("export cancelled")
        path = Path(path)
        if isinstance(encoded, dict):
            write_folder(path, encoded, self.folder_pattern)
        else:
            write_file(path, encoded)
        return path


def write_file(path: Path, content: bytes) -> None:
    """`content` to `path` atomically; a missing folder or a read-only place is an
    ExportError naming the path."""
    write_stream(path, lambda handle: handle.write(content))


def write_stream(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """What write(handle) writes, to `path` atomically (as write_file), for a result
    too big to hold in memory twice; an exception inside `write` (a cancel) leaves
    no file behind."""
    if path.is_dir():
        raise ExportError(f"{path} is a folder; name a file to write")
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        atomic_write(path, write)
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from None


def write_folder(path: Path, files: dict[str, bytes], pattern: str | None) -> None:
    """Each of `files` into the folder `path` (made when missing, its parent must exist)."""
    if path.exists() and not path.is_dir():
        raise ExportError(f"{path} is a file; this export writes a folder of files")
    if not path.parent.is_dir():
        raise ExportError(f"cannot write {path}: the folder {path.parent} does not exist")
    try:
        path.mkdir(exist_ok=True)
    except OSError as error:
        raise ExportError(f"cannot make the folder {path}: {error.strerror or error}") from None
    for name, content in files.items():
        write_file(path / name, content)
    if pattern:
        for stale in path.glob(pattern):
            if stale.name not in files:
                stale.unlink(missing_ok=True)


def check_extension(path: str | os.PathLike, extensions: tuple[str, ...]) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in extensions:
        raise ExportError(f"{path}: expected a file ending in {' or '.join(extensions)}")


# -- Qt ---------------------------------------------------------------------------
def ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        from bpviz.display import use_offscreen_without_display

        use_offscreen_without_display()
        app = QApplication(["bpviz-export"])
    return app


def png_bytes(image) -> bytes:
    """A QImage as PNG file content."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice

    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError("Qt could not encode the picture as PNG")
    buffer.close()
    return bytes(array.data())


def set_dpi(image, dpi: float) -> None:
    """Record `dpi` in the image (a PNG's pHYs chunk) without changing its pixels."""
    dots_per_metre = round(dpi / 0.0254)
    image.setDotsPerMeterX(dots_per_metre)
    image.setDotsPerMeterY(dots_per_metre)
