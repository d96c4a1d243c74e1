"""Run one function in a process of its own, steered from the UI thread without waiting.

`ProcessJob(target, *args)` is Qt-free. `start()` spawns a process (never a
fork of a Qt process) that calls `target(child, *args)`, where `child` is the
job's ChildSide: `child.report(value)` sends progress (at most every
SEND_SECONDS, the newest value wins), `child.cancelled` tells whether the app
asked to stop and `child.on_cancel(callback)` calls `callback` (from another
thread) when it does. The target returns its result (it must pickle), raises
JobCancelled when it stopped for a cancel, or raises anything else: the
error's message goes back to the app.

The UI thread calls `poll()` on a timer: it never waits for the job and
returns a News with the newest progress and, once, the outcome (result,
error or cancelled). `cancel()` sends the word "cancel" and, with
`kill_after`, kills the process if it has not ended that many seconds later
(the timer is a thread, so it works even if whoever asked has gone);
`kill()` ends it at once, e.g. when the target runs code that does not listen
(a user's PyTorch factory).

The child ignores Ctrl+C (it is the app's) and runs at a lower priority. A
closed control pipe (the app has gone) counts as a cancel; daemon processes
are also ended when the app exits.

NOTE: the arguments are pickled on the calling thread (a snapshot: later
changes never reach the job) and handed over in a temporary file. Passed as
the Process's arguments instead, anything larger than a pipe's buffer would
block `start()` until the child has imported its modules (up to a second);
sent from a thread, a garbage collection there could free Qt objects off the
UI thread (see bpviz.ui.thread_job).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEND_SECONDS = 0.05
NICE = 5  # the job's scheduling priority, below the app's


class JobCancelled(Exception):
    """Raised by a target that stopped because the app asked it to."""


@dataclass
class News:
    """What the job reported since the last poll()."""

    progress: Any = None  # the newest progress value, or None
    finished: bool = False  # the outcome below is final (given once)
    result: Any = None
    error: str | None = None
    cancelled: bool = False


# -- the child's side -----------------------------------------------------------------
class ChildSide:
    """What the target gets in the child: progress out, cancel in."""

    def __init__(self, data, control) -> None:
        self._data = data
        self._cancel = threading.Event()
        self._callbacks: list = []
        self._lock = threading.Lock()
        self._last_report = 0.0
        threading.Thread(target=self._listen, args=(control,), daemon=True).start()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def on_cancel(self, callback) -> None:
        """Call `callback()` when the app cancels (at once if it already has)."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._cancel.is_set()
        if already:
            callback()

    def report(self, value, force: bool = False) -> None:
        now = time.perf_counter()
        if force or now - self._last_report >= SEND_SECONDS:
            self._last_report = now
            self.send("progress", value)

    def send(self, kind: str, value) -> None:
        try:
            self._data.send((kind, value))
        except (BrokenPipeError, OSError):  # the app has gone
            self._set_cancelled()

    def _listen(self, control) -> None:
        while True:
            try:
                word = control.recv()
            except (EOFError, OSError):
                word = "cancel"
            if word == "cancel":
                self._set_cancelled()
                return

    def _set_cancelled(self) -> None:
        with self._lock:
            self._cancel.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()


def _child_main(target, payload_path: str, data, control) -> None:
    """The process's entry point: read the arguments, run the target, send its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C is for the app
    if hasattr(os, "nice"):
        os.nice(NICE)  # when cores are short, the window goes first
    child = ChildSide(data, control)
    try:
        # NOTE: unpickling runs code, so only a file this app's own ProcessJob wrote is
        # read: mkstemp made it private to the user (mode 0600) moments before, and
        # its name comes over the spawn arguments, never from outside.
        args = pickle.loads(Path(payload_path).read_bytes())
        Path(payload_path).unlink(missing_ok=True)
        outcome = ("result", target(child, *args))
    except JobCancelled:
        outcome = ("cancelled", None)
    except MemoryError:
        outcome = ("error", "not enough memory")
    except Exception as error:  # noqa: BLE001 - every failure is told to the app
        if not isinstance(error, (ValueError, OSError, ImportError)):
            traceback.print_exc()
        outcome = ("error", str(error) or type(error).__name__)
    try:
        child.send(*outcome)
    except Exception as error:  # noqa: BLE001 - e.g. a result that does not pickle
        child.send("error", f"the result could not be sent back: {error}")
    data.close()


# -- the app's side -------------------------------------------------------------------
class ProcessJob:
    def __init__(self, target, *args, name: str = "bpviz-job") -> None:
        self.target, self.args, self.name = target, args, name
        self.process = None
        self._data = self._control = None
        self._payload: Path | None = None
        self._cancel_requested = False
        self._finished = False

    def start(self) -> None:
        handle, path = tempfile.mkstemp(prefix="bpviz-job-", suffix=".pickle")
        self._payload = Path(path)
        try:
            with os.fdopen(handle, "wb") as file:
                pickle.dump(self.args, file, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # e.g. an argument that does not pickle
            self._payload.unlink(missing_ok=True)
            raise
        context = multiprocessing.get_context("spawn")  # never fork a Qt process
        self._data, child_data = context.Pipe(duplex=False)
        child_control, self._control = context.Pipe(duplex=False)
        self.process = context.Process(target=_child_main, name=self.name, daemon=True,
                                       args=(self.target, path, child_data, child_control))
        self.process.start()
        child_data.close()
        child_control.close()

    @property
    def running(self) -> bool:
        """True from start() until poll() has returned the outcome."""
        return self.process is not None and not self._finished

    def cancel(self, kill_after: float | None = None) -> None:
        """Ask the target to stop; kill the process if it still runs `kill_after` s later."""
        self._cancel_requested = True
        try:
            self._control.send("cancel")
        except (BrokenPipeError, OSError, AttributeError):
            pass  # the job has ended (or never started)
        if kill_after is not None and self.process is not None:
            timer = threading.Timer(kill_after, self._kill_process)
            timer.daemon = True
            timer.start()

    def kill(self) -> None:
        """End the process now; poll() then reports a cancel if nothing else came."""
        self._cancel_requested = True
        self._kill_process()

    def _kill_process(self) -> None:
        process = self.process
        if process is not None and process.is_alive():
            process.kill()
            process.join(1.0)

    def poll(self) -> News:
        """Everything the job reported since the last call (never waits for it)."""
        news = News()
        if self.process is None or self._finished:
            return news
        alive = self.process.is_alive()  # NOTE: before reading, so no last word is missed
        while not self._finished and self._readable():
            try:
                kind, value = self._data.recv()
            except (EOFError, OSError):
                break
            self._take(news, kind, value)
        if not self._finished and not alive:
            self._take(news, "cancelled", None) if self._cancel_requested else \
                self._take(news, "error", f"the process ended unexpectedly "
                                          f"(exit code {self.process.exitcode})")
        return news

    def _take(self, news: News, kind: str, value) -> None:
        if kind == "progress":
            news.progress = value
            return
        self._finished = news.finished = True
        news.result = value if kind == "result" else None
        news.error = value if kind == "error" else None
        news.cancelled = kind == "cancelled"
        self._clean_up()

    def _readable(self) -> bool:
        try:
            return self._data.poll()
        except (EOFError, OSError):
            return False

    def _clean_up(self) -> None:
        if self._payload is not None:
            self._payload.unlink(missing_ok=True)  # when the child never read it
        for connection in (self._data, self._control):
            connection.close()
        self.process.join(0.05)  # usually gone already; a zombie is reaped later anyway
