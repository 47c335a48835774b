"""Running out of disk space: one store-neutral error, the ``min_free_space`` setting, a
cheap free-space check that writes pass first, and a reserve file that lets deletes
through on a full disk.

The reserve is a preallocated file in the data directory. When a delete cannot get the
pages SQLite needs (journal growth), the file is removed and the delete retried; while it
is missing, every write is refused, so the space it gave back goes to deletes only. It is
made again once collected garbage has freed enough room.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

_NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)b?", re.IGNORECASE)
_EXPONENT = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
RESERVE_NAME = "space-reserve"
# A reserve never takes more than this share of the filesystem (a small test disk).
RESERVE_MAX_SHARE = 16
FULL_HEADROOM = 1 << 20
CHECK_SECONDS = 1.0
log = logging.getLogger("oortgate")  # statvfs is cheap, but not per request on a busy worker


class StorageFull(Exception):
    """No space left (ENOSPC, EDQUOT, SQLITE_FULL, or below ``min_free_space``)."""


class WritesRefused(StorageFull):
    """Refused before writing: space is low (SpaceGuard.check_write)."""


def is_no_space(exc: BaseException) -> bool:
    """Whether exc says the disk (or the user's quota) is full."""
    if isinstance(exc, StorageFull):
        return True
    if isinstance(exc, OSError):
        return exc.errno in _NO_SPACE_ERRNOS
    if isinstance(exc, sqlite3.OperationalError):
        code = getattr(exc, "sqlite_errorcode", None)
        return code == sqlite3.SQLITE_FULL or "database or disk is full" in str(exc)
    return False


@contextlib.contextmanager
def no_space_as_full() -> Iterator[None]:
    """Re-raise a no-space OSError or SQLite error as StorageFull (others unchanged)."""
    try:
        yield
    except (OSError, sqlite3.OperationalError) as exc:
        if is_no_space(exc):
            raise StorageFull(str(exc)) from exc
        raise


def parse_size(text: str) -> int:
    """ "1048576", "512MiB", "1GiB" (binary) or "1GB" (decimal) -> bytes."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a size (e.g. 500MiB, 1GiB, 2GB or bytes)")
    number, unit, binary = match.groups()
    base = 1024 if binary or not unit else 1000
    return int(float(number) * base ** _EXPONENT[unit.lower()])


@dataclass(frozen=True, slots=True)
class FreeSpaceMinimum:
    """Writes are refused below this many bytes, or this percent of the filesystem."""

    size: int = 0
    percent: float = 0.0

    def bytes_of(self, total: int) -> int:
        return max(self.size, int(total * self.percent / 100))


def parse_min_free_space(text: str) -> FreeSpaceMinimum:
    """ "0" (off), a size (see parse_size) or a percent of the filesystem ("5%")."""
    text = text.strip()
    if text.endswith("%"):
        try:
            percent = float(text[:-1])
        except ValueError:
            raise ValueError(f"{text!r} is not a percent (e.g. 5%)") from None
        if not 0 <= percent < 100:
            raise ValueError(f"{text!r}: a percent must be at least 0 and under 100")
        return FreeSpaceMinimum(percent=percent)
    return FreeSpaceMinimum(size=parse_size(text))


@dataclass(frozen=True, slots=True)
class SpaceReading:
    free: int  # bytes an unprivileged writer may still use
    total: int
    reserve_missing: bool


class SpaceGuard:
    """Free space of one data directory, read at most once per CHECK_SECONDS."""

    def __init__(self, root: Path, minimum: FreeSpaceMinimum, reserve_size: int) -> None:
        self.root = Path(root)
        self.minimum = minimum
        self._reserve_size = reserve_size
        self._reserve = self.root / RESERVE_NAME
        self._reading: SpaceReading | None = None
        self._read_at = 0.0
        # After a write ran out of space: writes stay refused until free space is above
        # this (so that they do not fail one after another, half-way through each).
        self._full_below = -1
        self._admitted = 0  # bytes of writes let through since the last reading

    def reading(self) -> SpaceReading:
        now = time.monotonic()
        if self._reading is None or now - self._read_at >= CHECK_SECONDS:
            stat = os.statvfs(self.root)
            total = stat.f_blocks * stat.f_frsize
            missing = self._reserve_held() < self.reserve_size(total)
            self._reading = SpaceReading(stat.f_bavail * stat.f_frsize, total, missing)
            self._read_at = now
            self._admitted = 0
        return self._reading

    def _reserve_held(self) -> int:
        """Bytes the reserve file holds now (0: none); less than its size once the start
        on a full disk gave half of it up."""
        try:
            return self._reserve.stat().st_size
        except FileNotFoundError:
            return 0

    def refresh(self) -> None:
        """The next reading is a fresh one."""
        self._reading = None

    def reserve_size(self, total: int) -> int:
        return min(self._reserve_size, total // RESERVE_MAX_SHARE)

    def low(self) -> str | None:
        """Why writes are refused now, or None."""
        now = self.reading()
        if now.reserve_missing:
            return "no space (the delete reserve is in use)"
        if now.free <= self.minimum.bytes_of(now.total):
            return "no space (below min_free_space)"
        if now.free <= self._full_below:
            return "no space (the disk is full)"
        self._full_below = -1
        return None

    def check_write(self, incoming: int = 0) -> None:
        """Raise StorageFull if a write of ``incoming`` bytes must be refused now."""
        if self.low() is not None:
            raise WritesRefused("no space")
        now = self.reading()
        minimum = self.minimum.bytes_of(now.total)
        # The writes let through since the reading count as written: a burst within
        # CHECK_SECONDS cannot overshoot the minimum. No minimum: the disk may fill.
        if minimum and now.free - self._admitted - incoming < minimum:
            raise WritesRefused(f"{incoming} bytes would go below min_free_space")
        self._admitted += incoming

    def noticed_full(self) -> None:
        """A write ran out of space: refuse writes until deletes free some room (at
        least FULL_HEADROOM, or the reserve's size) above what is free now."""
        self._reading = None
        now = self.reading()
        if self._full_below < 0:  # set once: failures while full must not raise the bar
            self._full_below = now.free + max(FULL_HEADROOM, self.reserve_size(now.total))

    def release_reserve(self) -> bool:
        """Give the reserve's space back (for a delete); True if there was one."""
        self._reading = None
        try:
            self._reserve.unlink()
        except FileNotFoundError:
            return False
        log.warning("disk full: space reserve %s released; writes are refused until "
                    "collected garbage frees space", self._reserve)  # fmt: skip
        return True

    def prepare_for_start(self) -> bool:
        """Start-up: SQLite needs room for its -wal and -shm files even to read, so a
        disk that is full gives up half of the reserve first (True if it did): the other
        half stays for the first delete, in case another program takes the space freed.
        Also removes a half-made reserve that a killed worker left."""
        for leftover in self.root.glob(f"{RESERVE_NAME}.*"):
            leftover.unlink(missing_ok=True)
        now = self.reading()
        if now.free >= max(FULL_HEADROOM, self.reserve_size(now.total)):
            return False
        held = self._reserve_held()
        if held == 0:
            return False
        self._reading = None
        os.truncate(self._reserve, held // 2)  # frees the blocks past the new end
        log.warning("disk full: half of the space reserve %s released to start; writes are "
                    "refused until collected garbage frees space", self._reserve)  # fmt: skip
        return True

    def ensure_reserve(self) -> bool:
        """Make the reserve if it is missing and the space allows (twice its size above
        the minimum, so that it is not made and spent in turn); True if it exists."""
        self._reading = None  # a fresh reading: this decides to take space
        now = self.reading()
        size = self.reserve_size(now.total)
        if size == 0 or not now.reserve_missing:
            return True
        if now.free < self.minimum.bytes_of(now.total) + 2 * size:
            return False
        self._reading = None
        temp = self.root / f"{RESERVE_NAME}.{os.getpid()}"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            try:
                os.posix_fallocate(fd, 0, size)  # real blocks, not a sparse file
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(temp, self._reserve)  # atomic: workers racing make one reserve
        except OSError as exc:
            temp.unlink(missing_ok=True)
            if is_no_space(exc):
                return False
            # A filesystem that cannot hold one: run without (deletes may then fail
            # with 507 on a full disk), rather than refuse every write.
            log.warning("no space reserve in %s: %s", self.root, exc.strerror or exc)
            self._reserve_size = 0
        return True


class SpaceGuards:
    """The data directory's guard and one per blob directory elsewhere (``blob_url``):
    a write is refused when any of their file systems is low. The reserve is the data
    directory's (the metadata store's deletes need it); a write that ran out of space
    marks the file system with the least room as full, not all of them (a full blob
    directory must not keep writes refused until the data directory frees space)."""

    def __init__(self, data_dir: SpaceGuard, blob_dirs: list[SpaceGuard]) -> None:
        self._data_dir = data_dir
        self._all = [data_dir, *blob_dirs]

    def low(self) -> str | None:
        return next((why for why in (g.low() for g in self._all) if why is not None), None)

    def check_write(self, incoming: int = 0) -> None:
        for guard in self._all:
            guard.check_write(incoming)

    def noticed_full(self) -> None:
        for guard in self._all:
            guard.refresh()
        min(self._all, key=lambda g: g.reading().free).noticed_full()

    def release_reserve(self) -> bool:
        return self._data_dir.release_reserve()

    def ensure_reserve(self) -> bool:
        return self._data_dir.ensure_reserve()
