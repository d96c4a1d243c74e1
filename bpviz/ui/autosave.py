"""Crash recovery: a modified graph is written to a recovery file every 30 s.

Each window owns one recovery file `recovery-<token>.json` (the graph, as
dumps_graph writes it) with `recovery-<token>.meta.json` (the file the graph
came from) and a lock file `recovery-<token>.lock` held while the window is
open. A clean exit removes all three. At the next launch, recovery files whose
lock is no longer held (the process that wrote them is gone) are offered for
restoring; files of another window that is still open are left alone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QTimer

from bpviz.atomic import atomic_write
from bpviz.graph import GraphDocument, GraphError, dumps_graph, loads_graph

INTERVAL_MS = 30_000
PREFIX = "recovery-"


@dataclass
class Recovery:
    """A recovery file left behind by a window that did not close cleanly."""

    graph_file: Path
    source: str | None  # the file the graph was opened from or saved to
    lock: QLockFile     # held by us until the recovery is restored or discarded

    def load(self) -> GraphDocument:
        return loads_graph(self.graph_file.read_bytes(), str(self.graph_file), strict=False)

    def discard(self) -> None:
        remove_files(self.graph_file)
        self.lock.unlock()


def recovery_dir(base: Path) -> Path:
    path = base / "recovery"
    path.mkdir(parents=True, exist_ok=True)
    return path


def meta_file(graph_file: Path) -> Path:
    return graph_file.with_name(graph_file.name.removesuffix(".json") + ".meta.json")


def lock_file(graph_file: Path) -> Path:
    return graph_file.with_name(graph_file.name.removesuffix(".json") + ".lock")


def remove_files(graph_file: Path) -> None:
    for path in (graph_file, meta_file(graph_file)):
        path.unlink(missing_ok=True)


def orphaned_recoveries(base: Path) -> list[Recovery]:
    """Recovery files nobody holds, newest first; each comes with its lock taken."""
    remove_stale_locks(base)
    found = []
    files = [path for path in recovery_dir(base).glob(f"{PREFIX}*.json")
             if not path.name.endswith(".meta.json")]
    for graph_file in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
        lock = QLockFile(str(lock_file(graph_file)))
        lock.setStaleLockTime(0)
        if not lock.tryLock(0):
            continue  # another open window's file
        found.append(Recovery(graph_file, read_source(graph_file), lock))
    return found


def remove_stale_locks(base: Path) -> None:
    """Lock files of windows that ended without a clean exit and left nothing to recover."""
    for path in recovery_dir(base).glob(f"{PREFIX}*.lock"):
        if path.with_suffix(".json").exists():
            continue
        lock = QLockFile(str(path))
        lock.setStaleLockTime(0)
        if lock.tryLock(0):
            lock.unlock()  # removes the file


def read_source(graph_file: Path) -> str | None:
    try:
        source = json.loads(meta_file(graph_file).read_text("utf-8")).get("source")
    except (OSError, ValueError, AttributeError):
        return None
    return source if isinstance(source, str) else None


class Autosaver(QObject):
    """Writes `document()` to this window's recovery file while `is_modified()`.

    document and is_modified are callables so the window can swap documents.
    `save_now()` is what the timer calls; `clean_exit()` removes the file.
    """

    def __init__(self, base: Path, document: Callable[[], GraphDocument],
                 is_modified: Callable[[], bool], source: Callable[[], str | None],
                 parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.graph_file = recovery_dir(base) / f"{PREFIX}{uuid.uuid4().hex[:12]}.json"
        self._document, self._is_modified, self._source = document, is_modified, source
        self._lock = QLockFile(str(lock_file(self.graph_file)))
        self._lock.tryLock(0)
        self.last_error: str | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    def save_now(self) -> bool:
        """Write the recovery file when modified, remove it when not; True if written."""
        if not self._is_modified():
            remove_files(self.graph_file)
            return False
        try:
            data = dumps_graph(self._document()).encode("utf-8")
            meta = json.dumps({"source": self._source()}).encode("utf-8")
            atomic_write(self.graph_file, lambda handle: handle.write(data))
            atomic_write(meta_file(self.graph_file), lambda handle: handle.write(meta))
        except (OSError, GraphError) as error:
            self.last_error = f"autosave failed: {error}"
            return False
        self.last_error = None
        return True

    def clean_exit(self) -> None:
        """The window closed normally: nothing to recover."""
        self.timer.stop()
        remove_files(self.graph_file)
        self._lock.unlock()
