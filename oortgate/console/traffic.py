"""Requests and errors per minute over the last hour: what the dashboard's chart shows.

Every worker process counts into its own small memory-mapped file under
``DATA/console-traffic/`` (one slot per minute of the hour: the minute, requests, client
errors, server errors). A count is a few stores into shared memory, with no lock and no
system call; the console, in whichever worker, adds up every file when asked. This works
with the Prometheus metrics on or off: their counters are totals since start, not a
history by minute. A file is removed once its worker is gone and its counts are older
than the hour.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import secrets
import struct
import time
from pathlib import Path
from typing import Any

DIRECTORY = "console-traffic"
SLOTS = 60
_SLOT = struct.Struct("<qqqq")  # minute since the epoch, requests, 4xx, 5xx
SIZE = SLOTS * _SLOT.size


class TrafficCounter:
    """One per worker process."""

    def __init__(self, data_dir: Path) -> None:
        directory = data_dir / DIRECTORY
        directory.mkdir(mode=0o700, exist_ok=True)
        # The pid names the worker (see _gone); the random part keeps a reused pid apart.
        path = directory / f"{os.getpid()}-{secrets.token_hex(4)}.bin"
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.ftruncate(fd, SIZE)
            self._map = mmap.mmap(fd, SIZE)
        finally:
            os.close(fd)

    def count(self, status: int, now: float | None = None) -> None:
        minute = int((time.time() if now is None else now) // 60)
        offset = (minute % SLOTS) * _SLOT.size
        seen, requests, client, server = _SLOT.unpack_from(self._map, offset)
        if seen != minute:  # the slot still holds the same minute of an earlier hour
            requests = client = server = 0
        client += 400 <= status < 500
        server += status >= 500
        _SLOT.pack_into(self._map, offset, minute, requests + 1, client, server)


def _gone(path: Path) -> bool:
    try:
        os.kill(int(path.name.split("-", 1)[0]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def last_hour(data_dir: Path, now: float | None = None) -> list[dict[str, Any]]:
    """Sixty minutes, oldest first: {"minute": its start (epoch seconds), "requests",
    "client_errors", "server_errors"}, summed over every worker."""
    current = int((time.time() if now is None else now) // 60)
    totals = {minute: [0, 0, 0] for minute in range(current - SLOTS + 1, current + 1)}
    for path in sorted((data_dir / DIRECTORY).glob("*.bin")):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        newest = 0
        for seen, *counts in _SLOT.iter_unpack(raw[:SIZE] if len(raw) >= SIZE else b""):
            newest = max(newest, seen)
            row = totals.get(seen)
            if row is not None:
                for i, value in enumerate(counts):
                    row[i] += value
        if newest <= current - SLOTS and _gone(path):
            with contextlib.suppress(OSError):
                path.unlink()
    return [
        {"minute": minute * 60, "requests": r, "client_errors": c, "server_errors": s}
        for minute, (r, c, s) in totals.items()
    ]
