"""Token buckets shared by every worker process of one gateway.

The limit is per access key (or client address), for the whole server: granian's
workers are separate processes, so the buckets live in a small memory-mapped file and a
whole-table ``lockf`` (two system calls, microseconds) serialises updates. Time comes
from CLOCK_MONOTONIC, which all processes on a machine share.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import mmap
import os
import struct
import time
from pathlib import Path

_SLOT = struct.Struct("<Qdd")  # key hash (0: free), tokens, last update (monotonic)
_PROBES = 8
log = logging.getLogger("oortgate")


def _hash(identity: str) -> int:
    value = int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=8).digest(), "little")
    return value or 1


class SharedRateLimiter:
    def __init__(self, path: Path, slots: int = 8192) -> None:
        self._slots = slots
        size = slots * _SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size != size:
            os.ftruncate(self._fd, size)
        self._map = self._mapping(size)

    def _mapping(self, size: int) -> mmap.mmap:
        """The shared table, its blocks allocated up front: a store into a page of a
        sparse file that a full disk cannot back kills the process (SIGBUS)."""
        try:
            os.posix_fallocate(self._fd, 0, size)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            log.warning("disk full: the rate limit holds per worker process, not server-wide")
            return mmap.mmap(-1, size)  # this process's own memory: never SIGBUS
        return mmap.mmap(self._fd, size)

    @staticmethod
    def reset(path: Path) -> None:
        """Start-up: forget the previous run's buckets."""
        path.unlink(missing_ok=True)

    async def take(self, identity: str, rate: float, burst: int) -> float:
        """RateLimiter.take: inline on the event loop (a lock and a few loads and stores,
        microseconds: far less than a thread hop)."""
        return self.take_at(identity, rate, burst)

    def take_at(self, identity: str, rate: float, burst: int, now: float | None = None) -> float:
        """Admit one request: 0.0 if admitted, else the seconds until one would be."""
        if rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        capacity = max(1.0, float(burst))
        key = _hash(identity)
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            offset = self._find(key, now, capacity / rate + 1.0)
            stored, tokens, last = _SLOT.unpack_from(self._map, offset)
            if stored != key:
                tokens, last = capacity, now
            tokens = min(capacity, tokens + max(0.0, now - last) * rate)
            wait = 0.0 if tokens >= 1.0 - 1e-9 else (1.0 - tokens) / rate  # float dust
            if wait == 0.0:
                tokens -= 1.0
            _SLOT.pack_into(self._map, offset, key, tokens, now)
            return wait
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def _find(self, key: int, now: float, idle: float) -> int:
        """The slot of this key, else a free or idle one (a full bucket: safe to reuse)."""
        home = key % self._slots
        spare = None
        for probe in range(_PROBES):
            offset = ((home + probe) % self._slots) * _SLOT.size
            stored, _, last = _SLOT.unpack_from(self._map, offset)
            if stored == key:
                return offset
            if spare is None and (stored == 0 or now - last > idle):
                spare = offset
        return spare if spare is not None else home * _SLOT.size

    async def health(self) -> str | None:
        return None

    async def close(self) -> None:
        self._map.close()
        os.close(self._fd)
