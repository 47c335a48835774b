"""One server per data directory. `serve` holds an exclusive lock on ``DATA_DIR/serve.lock``
for as long as any of its processes lives (the workers inherit the open file); a second
`serve` on the same directory stops at once, and `oortgate gc` knows whether a server is
running (and then collects only what is due, never a pending or in-flight blob)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "serve.lock"


class DataDirInUse(Exception):
    """Another process holds the data directory's lock."""


def lock(data_dir: Path) -> int:
    """Take the lock; returns the descriptor that holds it (keep it open). Raises
    DataDirInUse, naming the holder's pid when known."""
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # inherited by children: on purpose
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        os.close(fd)
        raise DataDirInUse(holder or "?") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def server_pid(data_dir: Path) -> int | None:
    """The pid of the server holding the lock now, None if none does. Tests with a shared
    lock, so that it never writes the file (nor keeps a starting server out for longer
    than the test itself)."""
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else 0
    finally:
        os.close(fd)
    return None
