"""Blobs as files on a local disk: ``root/blobs/ab/cd/<id>``, in-progress writes in
``root/tmp/<session>/`` (a worker's own directory: only a dead session's is ever cleared).

A blob becomes visible only through an atomic rename after its bytes are fsynced, so a
crash leaves either a complete blob or a temp file (swept at start-up), never half a blob.
Paths are built only from validated ids, never from anything a client sent.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
import time
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from oortgate.endpoints import STANDARD
from oortgate.errors import StoreUnavailable
from oortgate.storage import zframes
from oortgate.storage.base import BlobDamaged, BlobNotFound
from oortgate.storage.space import no_space_as_full
from oortgate.storage.writeback import start_writeback
from oortgate.storage.zframes import CompressingWriter

# A trailing "z" marks a compressed (framed, see zframes) blob: the id says how to read it.
BLOB_ID_PATTERN = re.compile(r"[0-9a-f]{32}z?")
_SHARD_PATTERN = re.compile(r"[0-9a-f]{2}")
_SESSION_PATTERN = re.compile(r"[0-9a-f]{16}")  # see MetaStore.open_session
FLUSH_SIZE = 1 << 20  # buffer small writes: one syscall per MiB, not per network chunk
_RWF_NOWAIT: int | None = getattr(os, "RWF_NOWAIT", None)  # Linux: fail, do not wait
_MAX_IOV = 512  # buffers per writev (the system's IOV_MAX is at least 1,024)
WRITEBACK_SIZE = 8 << 20  # start the disk on every this many new bytes (see writeback)
_FILE_MODE = 0o600
_DIR_MODE = 0o700


def check_blob_id(blob_id: str) -> str:
    """Return blob_id if it is 32 lowercase hex chars (+ "z"); raise ValueError otherwise."""
    if not isinstance(blob_id, str) or BLOB_ID_PATTERN.fullmatch(blob_id) is None:
        raise ValueError(f"invalid blob id: {blob_id!r}")
    return blob_id


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_dir_durable(path: Path) -> None:
    """mkdir if missing, fsyncing the parent so the new entry survives a crash."""
    if path.is_dir():
        return
    try:
        os.mkdir(path, _DIR_MODE)
    except FileExistsError:
        return  # another writer made it (and fsynced its parent)
    _fsync_dir(path.parent)


class LocalBlobWriter:
    """Streams one blob into a temp file; ``commit`` publishes it under its id."""

    def __init__(self, blob_id: str, tmp_path: Path, final_path: Path) -> None:
        self.blob_id = blob_id
        self._tmp_path = tmp_path
        self._final_path = final_path
        # Small writes wait here (by reference: no copy) for one writev per MiB.
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._written = 0  # bytes in the file
        self._writeback_from = 0  # the first byte whose writeback was not yet started
        with no_space_as_full():  # no inode left
            self._fd: int | None = os.open(
                tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE
            )
        self._committed = False

    def write(self, data: bytes) -> None:
        if self._fd is None:
            raise ValueError("write to a finished blob writer")
        self._pending.append(bytes(data))  # bytes(bytes) is the same object, not a copy
        self._pending_size += len(data)
        if self._pending_size >= FLUSH_SIZE or len(self._pending) >= _MAX_IOV:
            with no_space_as_full():
                self._flush()

    def commit(self) -> None:
        if self._fd is None:
            raise ValueError("commit of a finished blob writer")
        with no_space_as_full():  # ENOSPC from the last write, the fsync or a new shard
            self._commit()

    def _commit(self) -> None:
        assert self._fd is not None
        try:
            self._flush()
            os.fsync(self._fd)
            self._close()
            shard = self._final_path.parent
            _make_dir_durable(shard.parent)
            _make_dir_durable(shard)
            try:
                os.rename(self._tmp_path, self._final_path)
            except FileNotFoundError:
                # Our session was declared dead (a partition, a stall past the session
                # timeout) and its temp files reaped: the upload is lost, not the store.
                raise StoreUnavailable(
                    "this worker's session was ended while the upload was under way"
                ) from None
            self._committed = True
            _fsync_dir(shard)  # the rename itself must survive a crash
        except BaseException:
            if not self._committed:
                self.abort()
            raise

    def abort(self) -> None:
        if self._committed:
            return  # the blob is published: only the GC may remove it now
        self._close()
        self._pending.clear()
        self._tmp_path.unlink(missing_ok=True)

    def _flush(self) -> None:
        if not self._pending:
            return
        assert self._fd is not None
        pending, size = self._pending, self._pending_size
        self._pending, self._pending_size = [], 0
        written = os.writev(self._fd, pending)
        if written < size:  # a short write: the rest, one buffer at a time
            rest = memoryview(b"".join(pending))[written:]
            while rest:
                rest = rest[os.write(self._fd, rest) :]
        self._written += size
        if self._written - self._writeback_from >= WRITEBACK_SIZE:
            start_writeback(self._fd, self._writeback_from, self._written - self._writeback_from)
            self._writeback_from = self._written

    def _close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def _chunks(
    handle: io.FileIO, offset: int, length: int, chunk_size: int, cooperative: bool
) -> Iterator[bytes | None]:
    try:
        fd = handle.fileno()
        end = offset + length
        while offset < end:
            size = min(chunk_size, end - offset)
            chunk = _cached(fd, size, offset) if cooperative else None
            if chunk is None:
                if cooperative:
                    yield None  # the caller resumes us on a thread: this read may wait
                chunk = os.pread(fd, size, offset)
            if not chunk:  # shorter than when it was opened
                raise BlobDamaged(f"blob ends at byte {offset} of the {end} asked for")
            offset += len(chunk)
            yield chunk
    finally:
        handle.close()


def _cached(fd: int, size: int, offset: int) -> bytes | None:
    """The bytes from ``offset`` on (up to ``size``) that are in the page cache, read
    without waiting for the disk; None when none are (or this system cannot tell)."""
    if _RWF_NOWAIT is None:
        return None
    buffer = bytearray(size)
    try:
        count = os.preadv(fd, [buffer], offset, _RWF_NOWAIT)
    except OSError:  # EAGAIN: not cached; or not supported here. A thread reads it then.
        return None
    return bytes(buffer) if count == size else bytes(memoryview(buffer)[:count])


def _each_on_a_thread(chunks: Iterator[bytes]) -> Iterator[bytes | None]:
    """Every chunk is produced after a None (decompressing is work for a thread)."""
    while True:
        yield None
        chunk = next(chunks, None)
        if chunk is None:
            return
        yield chunk


class LocalBlobStore:
    """BlobStore on a local (or locally mounted) filesystem.

    ``temp_dir``: where the temp files go, relative to ``root`` (a root shared by the
    gateways of several metadata stores gives each its own, see oortgate.storage.shared_root).
    ``orphan_min_age``: how old a blob must be before the orphan sweep may take it for
    one (None: never: the root holds blobs another metadata store may name), asked
    whenever a sweep starts (who else uses a shared root may change meanwhile)."""

    def __init__(
        self,
        root: Path,
        temp_dir: str = "tmp",
        orphan_min_age: Callable[[], float | None] = lambda: 0.0,
    ) -> None:
        self.root = Path(root)
        self._blobs = self.root / "blobs"
        self._tmp = self.root / temp_dir
        self._orphan_min_age = orphan_min_age
        # Where this store's writers put temp files: its session's directory once it
        # has one; ``tmp`` itself only for a session-less tool (and old versions).
        self._session_tmp = self._tmp
        for directory in (self.root, self._blobs, self._tmp):
            directory.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    @property
    def temp_roots(self) -> tuple[Path, ...]:
        return (self._tmp,)

    @property
    def sweeps_orphans(self) -> bool:
        """False: the orphan sweep is off for this root (see orphan_candidates)."""
        return self._orphan_min_age() is not None

    def use_session(self, session_id: str) -> None:
        if _SESSION_PATTERN.fullmatch(session_id) is None:
            raise ValueError(f"invalid session id: {session_id!r}")
        directory = self._tmp / session_id
        _make_dir_durable(directory)
        self._session_tmp = directory

    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        """(One store serves every tier: ``tier`` changes nothing here.)"""
        return secrets.token_hex(16) + ("z" if compressed else "")

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        return True

    def path(self, blob_id: str) -> Path:
        """Where a blob lives; raises ValueError for anything but a valid id."""
        check_blob_id(blob_id)
        return self._blobs / blob_id[:2] / blob_id[2:4] / blob_id

    def open_writer(self, blob_id: str) -> LocalBlobWriter | CompressingWriter:
        final = self.path(blob_id)
        tmp = self._session_tmp / f"{blob_id}.{secrets.token_hex(8)}"
        writer = LocalBlobWriter(blob_id, tmp, final)
        return CompressingWriter(writer) if blob_id.endswith("z") else writer

    def read(self, blob_id: str, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
        """Open now (BlobNotFound, and BlobDamaged for a file too short, surface here,
        before any response is sent, and an open file survives a concurrent delete); the
        bytes stream from the generator, which raises BlobDamaged if they run out."""
        stream = self._open(blob_id, offset, length, chunk_size, cooperative=False)
        return (chunk for chunk in stream if chunk is not None)

    def stream(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> Iterator[bytes | None]:
        """``read`` for a caller on an event loop: a chunk the page cache holds comes at
        once; before one that would wait for the disk (or, compressed, be decompressed)
        the generator yields None, and the caller resumes it on a thread."""
        return self._open(blob_id, offset, length, chunk_size, cooperative=True)

    def _open(
        self, blob_id: str, offset: int, length: int, chunk_size: int, *, cooperative: bool
    ) -> Iterator[bytes | None]:
        if offset < 0 or length < 0 or chunk_size <= 0:
            raise ValueError("offset and length must be >= 0 and chunk_size > 0")
        # A file object, not a bare fd: it is closed even if the generator never runs.
        try:
            handle = io.FileIO(self.path(blob_id), "rb")
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        if blob_id.endswith("z"):
            chunks = zframes.read_range(zframes.StoredFile(handle), offset, length, chunk_size)
            return _each_on_a_thread(chunks) if cooperative else chunks
        stored = os.fstat(handle.fileno()).st_size
        if stored < offset + length:
            handle.close()
            raise BlobDamaged(f"blob {blob_id} holds {stored} bytes, {offset + length} asked for")
        return _chunks(handle, offset, length, chunk_size, cooperative)

    def size(self, blob_id: str) -> int:
        """The blob's logical (uncompressed) size."""
        if blob_id.endswith("z"):
            with io.FileIO(self.path(blob_id), "rb") as handle:
                return zframes.logical_size(zframes.StoredFile(handle))
        return self.path(blob_id).stat().st_size

    def delete(self, blob_id: str) -> None:
        self.path(blob_id).unlink(missing_ok=True)

    def iter_blob_ids(self) -> Iterator[str]:
        for first in _subdirs(self._blobs):
            for second in _subdirs(self._blobs / first):
                shard = first + second
                # A leaf is listed in full before yielding: callers may delete as we go.
                for name in sorted(_listdir(self._blobs / first / second)):
                    if BLOB_ID_PATTERN.fullmatch(name) and name[:4] == shard:
                        yield name

    def orphan_candidates(self, min_age: float = 0.0) -> Iterator[str]:
        """The blob ids the orphan sweep may consider: those at least ``min_age`` old and
        at least the root's own minimum (a blob another gateway has just committed may
        not have its record visible yet), none if the sweep is off for this root."""
        own = self._orphan_min_age()
        if own is None:
            return
        oldest_age = max(own, min_age)
        oldest = time.time() - oldest_age
        for blob_id in self.iter_blob_ids():
            if oldest_age <= 0 or _modified(self.path(blob_id)) <= oldest:
                yield blob_id

    def count_temp_files(self) -> int:
        """Files in the temp directory and in its sessions' subdirectories."""
        return _count_files(self._tmp)

    def temp_sessions(self) -> list[str]:
        return [n for n in _listdir(self._tmp) if _SESSION_PATTERN.fullmatch(n)
                and (self._tmp / n).is_dir()]  # fmt: skip

    def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        removed = _remove_files(self._tmp)  # session-less writers' (old versions, tools)
        for session_id in sessions:
            if _SESSION_PATTERN.fullmatch(session_id) is None:
                raise ValueError(f"invalid session id: {session_id!r}")
            directory = self._tmp / session_id
            removed += _remove_files(directory)
            with contextlib.suppress(OSError):  # gone already, or holds what is no file
                directory.rmdir()
        return removed


def _remove_files(directory: Path) -> int:
    removed = 0
    for name in _listdir(directory):
        path = directory / name
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def _count_files(path: Path) -> int:
    try:
        entries = list(os.scandir(path))
    except FileNotFoundError:
        return 0
    files = sum(1 for entry in entries if entry.is_file(follow_symlinks=False))
    return files + sum(
        _count_files(Path(e.path)) for e in entries if e.is_dir(follow_symlinks=False)
    )


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return float("inf")  # collected meanwhile: nothing to sweep


def _listdir(path: Path) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _subdirs(path: Path) -> list[str]:
    names = [n for n in _listdir(path) if _SHARD_PATTERN.fullmatch(n)]
    return sorted(n for n in names if (path / n).is_dir())
