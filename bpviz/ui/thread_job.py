"""Run one function on Qt's thread pool; its result or error comes back as a signal.

`Job(fn, *args)` is started with `start()`; `finished(object)` carries the
return value and `failed(str)` the exception's message, both delivered on
the thread the Job was made on (the UI thread). `discard()` drops its
outcome (the "cancel" of a build); `ended()` is emitted in any case once
the function has returned, so a caller can wait for the memory it held.

`Job(fn, *args, reports=True)` calls `fn(*args, progress=report)`:
`report(done, total)` emits `progress(done, total)` on the UI thread (at
most every PROGRESS_INTERVAL seconds, and the last one always) and, once
the job is discarded, raises JobCancelled, so a function that reports often
stops promptly.

NOTE: Python's cyclic garbage collector is paused while jobs run (and resumed
on the UI thread when the last one is done). A collection that starts on a
worker thread may free Qt objects there (closed windows and dialogs waiting
in reference cycles); PySide then deadlocks between the GIL and Qt's locks.
"""

from __future__ import annotations

import gc
import threading
import time
import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

PROGRESS_INTERVAL = 0.05  # seconds between two progress signals


class JobCancelled(Exception):
    """Raised in a reporting job's function once the job is discarded."""


class Job(QObject):
    finished = Signal(object)
    failed = Signal(str)
    progress = Signal(int, int)  # done, total
    ended = Signal()  # the function returned (also when discarded)

    def __init__(self, fn, *args, parent: QObject | None = None,
                 reports: bool = False) -> None:
        super().__init__(parent)
        self.fn, self.args = fn, args
        self.discarded = False
        self.running = False
        self._outcome = _Outcome()
        self._outcome.done.connect(self._done)
        self._outcome.progress.connect(self._progressed)
        self._last_report = 0.0
        if reports:
            self.fn = lambda *given: fn(*given, progress=self._report)
        held = self._gc_held = [False]  # also let go if the job is deleted while it runs
        self.destroyed.connect(lambda *_: _resume_gc(held))

    def start(self) -> None:
        self.running = True
        _pause_gc(self._gc_held)
        QThreadPool.globalInstance().start(_Runnable(self.fn, self.args, self._outcome))

    def run_here(self) -> None:
        """Run on the calling thread and deliver the outcome at once (snapshots, tests)."""
        self.running = True
        _Runnable(self.fn, self.args, self._outcome).run()

    def discard(self) -> None:
        self.discarded = True

    def _report(self, done: int, total: int) -> None:
        """On the worker: pass the progress on, or stop when discarded."""
        if self.discarded:
            raise JobCancelled
        now = time.monotonic()
        if done >= total or now - self._last_report >= PROGRESS_INTERVAL:
            self._last_report = now
            self._outcome.progress.emit(done, total)

    def _progressed(self, done: int, total: int) -> None:
        if not self.discarded:
            self.progress.emit(done, total)

    def _done(self, ok: bool, value) -> None:
        self.running = False
        _resume_gc(self._gc_held)
        self.deleteLater()  # its arguments (a batch, a document) go with it
        self.ended.emit()
        if self.discarded:
            return
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value)


_gc_lock = threading.Lock()
_gc_state = {"jobs": 0, "was_enabled": False}


def _pause_gc(held: list[bool]) -> None:
    """No cyclic collection while a job runs (see the note above)."""
    with _gc_lock:
        if held[0]:
            return
        held[0] = True
        if _gc_state["jobs"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["jobs"] += 1


def _resume_gc(held: list[bool]) -> None:
    """On the UI thread: collect again once no job is running."""
    with _gc_lock:
        if not held[0]:
            return
        held[0] = False
        _gc_state["jobs"] -= 1
        if _gc_state["jobs"] == 0 and _gc_state["was_enabled"]:
            gc.enable()


class _Outcome(QObject):
    done = Signal(bool, object)
    progress = Signal(int, int)


class _Runnable(QRunnable):
    def __init__(self, fn, args, outcome: _Outcome) -> None:
        super().__init__()
        self.fn, self.args, self.outcome = fn, args, outcome

    def run(self) -> None:
        try:
            value = self.fn(*self.args)
        except JobCancelled:
            self._tell(False, "cancelled")
        except MemoryError:
            self._tell(False, "not enough memory for this graph and batch")
        except Exception as error:  # noqa: BLE001 - every failure is told to the user
            message = str(error) or type(error).__name__
            if not isinstance(error, ValueError):
                traceback.print_exc()
            self._tell(False, message)
        else:
            self._tell(True, value)

    def _tell(self, ok: bool, value) -> None:
        try:
            self.outcome.done.emit(ok, value)
        except RuntimeError:  # its window was closed meanwhile: nobody waits for it
            pass
