"""Requests and errors per minute over the last hour: what the dashboard's chart shows,
for the whole server (the root user) or for one user (their buckets and keys).

Every worker process counts into its own small memory-mapped file under
``DATA/console-traffic/``: a table for the server (one slot per minute of the hour: the
minute, requests, client errors, server errors), then up to ``USER_ENTRIES`` tables of
the same shape, each headed by the user id it counts for. A count is a few stores into
shared memory, with no lock and no system call; the console, in whichever worker, adds
up every file when asked. This works with the Prometheus metrics on or off: their
counters are totals since start, not a history by minute. A file is removed once its
worker is gone and its counts are older than the hour.

A user's table counts the requests signed with one of their keys and those addressed to
one of their buckets (by anyone, anonymous or denied included; a request whose signature
is refused names no bucket it reached): never a request that is neither. Its worker
alone writes a file; a user table whose newest minute is over an hour old is given to
the next new user, so a worker counts up to ``USER_ENTRIES`` distinct users an hour
(past that, a new user's requests go uncounted in that worker's file; the server's
table still counts them).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import secrets
import struct
import time
from array import array
from collections.abc import Iterable
from pathlib import Path
from typing import Any

DIRECTORY = "console-traffic"
SLOTS = 60
# Native byte order: the writer stores through a memoryview of int64s (a few index
# stores per request, no struct packing); every reader is on the same machine.
_SLOT = struct.Struct("=qqqq")  # minute since the epoch, requests, 4xx, 5xx
TABLE = SLOTS * _SLOT.size
_OWNER = struct.Struct("=q")  # the user id + 1 (0: an entry never used)
ENTRY = _OWNER.size + TABLE
USER_ENTRIES = 256
SIZE = TABLE + USER_ENTRIES * ENTRY  # 480 KiB, sparse: only the tables used take pages


def _entry(index: int) -> int:
    return TABLE + index * ENTRY


def _newest(buffer: bytes | mmap.mmap, table: int) -> int:
    return max(int(_SLOT.unpack_from(buffer, table + i * _SLOT.size)[0]) for i in range(SLOTS))


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
        self._words = memoryview(self._map).cast("q")  # the file as int64s (offsets: 8n)
        self._tables: dict[int, int] = {}  # user id -> offset of its table in this file

    def count(
        self, status: int, now: float | None = None, *, users: Iterable[int | None] = ()
    ) -> None:
        """One request answered with ``status``, for the server and for each of ``users``
        (the key's and the bucket owner's: once if they are the same; None: no one)."""
        minute = int((time.time() if now is None else now) // 60)
        client, server = 400 <= status < 500, status >= 500
        self._add(0, minute, client, server)
        counted: list[int] = []
        for user_id in users:
            if user_id is None or user_id in counted:
                continue
            counted.append(user_id)
            table = self._tables.get(user_id)
            if table is None:
                table = self._claim(user_id, minute)
            if table is not None:
                self._add(table, minute, client, server)

    def _add(self, table: int, minute: int, client: bool, server: bool) -> None:
        words = self._words
        at = (table + (minute % SLOTS) * _SLOT.size) >> 3
        if words[at] != minute:  # the slot still holds the same minute of an earlier hour
            words[at : at + 4] = array("q", (minute, 1, client, server))
        else:
            words[at + 1] += 1
            words[at + 2] += client
            words[at + 3] += server

    def _claim(self, user_id: int, minute: int) -> int | None:
        """A table for a user new to this file: a free entry or one idle for an hour
        (probed from the user id); None when every one is in use."""
        for step in range(USER_ENTRIES):
            entry = _entry((user_id + step) % USER_ENTRIES)
            (owner,) = _OWNER.unpack_from(self._map, entry)
            table = entry + _OWNER.size
            if owner == 0 or _newest(self._map, table) <= minute - SLOTS:
                self._tables.pop(owner - 1, None)
                # Cleared first: a reader never sees the new owner with another's counts
                # (and the old counts are over an hour old: no reader shows them anyway).
                self._map[table : table + TABLE] = bytes(TABLE)
                _OWNER.pack_into(self._map, entry, user_id + 1)
                self._tables[user_id] = table
                return table
        return None


def _gone(path: Path) -> bool:
    try:
        os.kill(int(path.name.split("-", 1)[0]), 0)
    except ProcessLookupError:
        return True
    except (ValueError, PermissionError):
        return False
    return False


def _tables_of(raw: bytes, user_id: int | None) -> list[int]:
    if user_id is None:
        return [0] if len(raw) >= TABLE else []
    if len(raw) < SIZE:  # a file of an older version: no user tables
        return []
    wanted = user_id + 1
    return [
        _entry(i) + _OWNER.size
        for i in range(USER_ENTRIES)
        if _OWNER.unpack_from(raw, _entry(i))[0] == wanted
    ]


def last_hour(
    data_dir: Path, now: float | None = None, *, user_id: int | None = None
) -> list[dict[str, Any]]:
    """Sixty minutes, oldest first: {"minute": its start (epoch seconds), "requests",
    "client_errors", "server_errors"}, summed over every worker: the server's counts,
    or only those of ``user_id``'s keys and buckets."""
    current = int((time.time() if now is None else now) // 60)
    totals = {minute: [0, 0, 0] for minute in range(current - SLOTS + 1, current + 1)}
    for path in sorted((data_dir / DIRECTORY).glob("*.bin")):
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        for table in _tables_of(raw, user_id):
            for seen, *counts in _SLOT.iter_unpack(raw[table : table + TABLE]):
                row = totals.get(seen)
                if row is not None:
                    for i, value in enumerate(counts):
                        row[i] += value
        newest = _newest(raw, 0) if len(raw) >= TABLE else 0
        if newest <= current - SLOTS and _gone(path):
            with contextlib.suppress(OSError):
                path.unlink()
    return [
        {"minute": minute * 60, "requests": r, "client_errors": c, "server_errors": s}
        for minute, (r, c, s) in totals.items()
    ]
