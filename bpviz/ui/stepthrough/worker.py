"""Run one function on Qt's thread pool; its result or error comes back as a signal.

`Job(fn, *args)` is started with `start()`; `finished(object)` carries the
return value and `failed(str)` the exception's message, both delivered on
the thread the Job was made on (the UI thread). A job cannot be stopped once
running; `discard()` drops its outcome instead (the "cancel" of a build).
"""

from __future__ import annotations

import traceback

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal


class Job(QObject):
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, fn, *args, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fn, self.args = fn, args
        self.discarded = False
        self.running = False
        self._outcome = _Outcome()
        self._outcome.done.connect(self._done)

    def start(self) -> None:
        self.running = True
        QThreadPool.globalInstance().start(_Runnable(self.fn, self.args, self._outcome))

    def run_here(self) -> None:
        """Run on the calling thread and deliver the outcome at once (snapshots, tests)."""
        self.running = True
        _Runnable(self.fn, self.args, self._outcome).run()

    def discard(self) -> None:
        self.discarded = True

    def _done(self, ok: bool, value) -> None:
        self.running = False
        self.deleteLater()  # its arguments (a batch, a document) go with it
        if self.discarded:
            return
        if ok:
            self.finished.emit(value)
        else:
            self.failed.emit(value)


class _Outcome(QObject):
    done = Signal(bool, object)


class _Runnable(QRunnable):
    def __init__(self, fn, args, outcome: _Outcome) -> None:
        super().__init__()
        self.fn, self.args, self.outcome = fn, args, outcome

    def run(self) -> None:
        try:
            value = self.fn(*self.args)
        except MemoryError:
            self.outcome.done.emit(False, "not enough memory for this graph and batch")
        except Exception as error:  # noqa: BLE001 - every failure is told to the user
            message = str(error) or type(error).__name__
            if not isinstance(error, ValueError):
                traceback.print_exc()
            self.outcome.done.emit(False, message)
        else:
            self.outcome.done.emit(True, value)
