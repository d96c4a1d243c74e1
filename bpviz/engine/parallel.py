"""Blocks of work spread over the BLAS's threads, each block's products single-threaded.

A convolution made a block of columns at a time (bpviz.engine.ops.lowering)
has many independent blocks: copy the block, one matrix product. Left to the
BLAS, each product is split over its threads, which meet at the end of every
call, and the copies run on one thread; on a busy machine, where a thread
waits for a core, those meetings cost more than the arithmetic. Here instead
the calling thread and a few workers (as many threads in all as the BLAS
has) each take whole blocks, copies included, with the BLAS held to one
thread meanwhile (threadpoolctl). Without threadpoolctl, or with a
single-threaded BLAS, blocks simply run one after another in the caller.

`run_blocks(work, items)` hands items out as threads become free: use it when
each item writes its own part of a result. `run_shares(work, items)` gives
thread i the items i, i + T, i + 2T, … (T threads) and returns each thread's
result in that order: use it for sums, so that a pass adds up in the same
order every time.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

Item = TypeVar("Item")

_lock = threading.Lock()
_state: dict[str, Any] = {}


def _blas() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries ([] when there are none)."""
    if "blas" not in _state:
        try:
            from threadpoolctl import ThreadpoolController

            _state["blas"] = [lib for lib in ThreadpoolController().lib_controllers
                              if lib.user_api == "blas"]
        except Exception:  # noqa: BLE001 - no threadpoolctl, or a library it cannot drive
            _state["blas"] = []
    return _state["blas"]


def thread_count() -> int:
    """Threads that work on blocks: the BLAS's thread count (1 without threadpoolctl)."""
    with _lock:
        if "threads" not in _state:
            libs = _blas()
            _state["threads"] = max([lib.num_threads for lib in libs] + [1]) if libs else 1
        return _state["threads"]


def _forget_threads() -> None:
    """In a forked child the pool's threads are gone: make new ones when needed."""
    global _lock
    _lock = threading.Lock()
    _state.pop("pool", None)
    _OneBlasThread.users = 0


def _pool() -> ThreadPoolExecutor:
    workers = max(1, thread_count() - 1)  # the calling thread is the other one
    with _lock:
        if "pool" not in _state:
            _state["pool"] = ThreadPoolExecutor(workers, thread_name_prefix="bpviz-blocks")
        return _state["pool"]


class _OneBlasThread:
    """While any block runs: the BLAS on one thread; its own count again after the last."""

    users = 0
    saved: list[int] = []

    def __enter__(self) -> None:
        with _lock:
            if _OneBlasThread.users == 0:
                _OneBlasThread.saved = [lib.num_threads for lib in _blas()]
                for lib in _blas():
                    lib.set_num_threads(1)
            _OneBlasThread.users += 1

    def __exit__(self, *exc) -> None:
        with _lock:
            _OneBlasThread.users -= 1
            if _OneBlasThread.users == 0:
                for lib, count in zip(_blas(), _OneBlasThread.saved):
                    lib.set_num_threads(count)


def _spread(work: Callable[[int], Any], threads: int) -> list:
    """work(0) in this thread, work(1…threads−1) on the pool; their results in order."""
    with _OneBlasThread():
        futures = [_pool().submit(work, i) for i in range(1, threads)]
        first = work(0)
        return [first] + [future.result() for future in futures]


def worth_spreading(items: int) -> bool:
    """Spread over threads: enough items for every thread to get a few."""
    return thread_count() > 1 and items >= 2 * thread_count()


def run_blocks(work: Callable[[Item], None], items: Sequence[Item]) -> None:
    """work(item) for every item, in any order, on the block threads."""
    if not worth_spreading(len(items)):
        for item in items:
            work(item)
        return
    remaining, taken = iter(items), threading.Lock()

    def drain(_thread: int) -> None:
        while True:
            with taken:
                item = next(remaining, None)
            if item is None:
                return
            work(item)

    _spread(drain, thread_count())


def run_shares(work: Callable[[Sequence[Item]], Any], items: Sequence[Item]) -> list:
    """[work(share) for each thread's share], thread i's share the items i, i + T, …"""
    if not worth_spreading(len(items)):
        return [work(items)]
    threads = thread_count()
    return _spread(lambda i: work(items[i::threads]), threads)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_threads)
