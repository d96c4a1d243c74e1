"""Working memory: scratch arrays reused between calls, and a malloc that keeps freed memory.

Scratch arrays are only for values that never leave an op (an im2col matrix,
a padded copy of an input): anything returned by `forward` or `backward`, or
shown in a Step, must be a fresh array, since a scratch array is overwritten
by the next call that asks for the same key. Each thread has its own pool, so
two threads never share a scratch array. An uninitialised scratch array is a
view of one buffer per key and dtype, grown to the largest shape asked for:
the thirteen convolutions of a VGG16 share one im2col buffer, the size of the
largest, rather than keeping one each (bpviz.graph.memory counts it so).

`keep_freed_memory` asks glibc's malloc to keep freed blocks instead of
returning them to the system: without it every fresh array of 128 KiB or more
is a new mapping whose pages fault in one by one, which costs more than the
arithmetic for the small arrays a lesson's network passes around.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import sys
import threading
from collections import OrderedDict

import numpy as np

POOL_BYTES = 512 * 2**20  # per thread; the least recently used arrays go first
_local = threading.local()


def _pool() -> OrderedDict:
    pool = getattr(_local, "pool", None)
    if pool is None:
        pool = _local.pool = OrderedDict()
    return pool


def scratch(key: tuple, shape: tuple[int, ...], dtype, zero: bool = False) -> np.ndarray:
    """This thread's scratch array for `key` (uninitialised, or zeroed when first made).

    zero=True: the array is zero-filled when it is created, and the caller keeps
    whatever part it relies on being zero (e.g. a border) untouched.
    """
    pool = _pool()
    if not zero:
        return _shared(pool, key, tuple(shape), np.dtype(dtype))
    full_key = (key, tuple(shape), np.dtype(dtype).str, zero)
    array = pool.get(full_key)
    if array is not None:
        pool.move_to_end(full_key)
        return array
    array = np.zeros(shape, dtype)
    _add(pool, full_key, array)
    return array


def _shared(pool: OrderedDict, key: tuple, shape: tuple[int, ...], dtype: np.dtype
            ) -> np.ndarray:
    """A view of the key's buffer, made larger when `shape` does not fit in it."""
    full_key = (key, dtype.str)
    size = math.prod(shape)
    buffer = pool.get(full_key)
    if buffer is None or buffer.size < size:
        pool.pop(full_key, None)
        buffer = np.empty(size, dtype)
        _add(pool, full_key, buffer)
    else:
        pool.move_to_end(full_key)
    return buffer[:size].reshape(shape)


def _add(pool: OrderedDict, full_key: tuple, array: np.ndarray) -> None:
    pool[full_key] = array
    total = sum(a.nbytes for a in pool.values())
    while total > POOL_BYTES and len(pool) > 1:
        _, dropped = pool.popitem(last=False)
        total -= dropped.nbytes


def clear_scratch() -> None:
    """Free this thread's scratch arrays."""
    _pool().clear()


M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def keep_freed_memory(mmap_threshold: int = 32 * 2**20,
                      trim_threshold: int = 256 * 2**20) -> bool:
    """Serve arrays up to `mmap_threshold` bytes from the heap and keep freed memory.

    A no-op (False) anywhere but glibc on Linux.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
        if not hasattr(libc, "gnu_get_libc_version"):
            return False  # musl and others have no mallopt tuning
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)
                and mallopt(M_TRIM_THRESHOLD, trim_threshold))
