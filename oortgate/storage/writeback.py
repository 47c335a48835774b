"""Start writing a file's dirty pages to disk early, without waiting (Linux).

A large blob is fsynced once, at the end; if all of it is still in the page cache then,
that fsync waits for every byte at once. Asking the kernel every few MiB to start the
writeback of what was just written (sync_file_range with SYNC_FILE_RANGE_WRITE) lets the
disk work while the rest of the body arrives, and the final fsync only waits for the
tail. This is a hint: durability still comes from the fsync alone. Python's os module
has no sync_file_range, so it is called through ctypes; where the C library lacks it
(not Linux), nothing happens.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable

SYNC_FILE_RANGE_WRITE = 2  # from <fcntl.h>: start writeback of dirty pages, do not wait


def _load() -> Callable[[int, int, int, int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        function = ctypes.CDLL(name, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> bool:
    """Ask the kernel to start writing ``length`` bytes at ``offset``; False if it cannot
    (no such call here, or it failed: the final fsync does all the work then)."""
    if _sync_file_range is None:
        return False
    return _sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE) == 0
