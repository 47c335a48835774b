"""The blob store interface. Blobs are immutable and named by random ids, never by keys."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Protocol


class BlobNotFound(Exception):
    """The blob does not exist (collected, or lost): raised at open, before any byte."""


class BlobDamaged(Exception):
    """The blob holds fewer bytes than asked for, or cannot be decoded: raised at open
    when that is already clear, else by the iterator where the bytes run out."""


class BlobWriter(Protocol):
    blob_id: str

    def write(self, data: bytes) -> None: ...

    def commit(self) -> None:
        """Make the blob durable and visible under its id (fsync, rename, fsync dir)."""
        ...

    def abort(self) -> None:
        """Discard what was written. Safe to call after a failed write or twice."""
        ...


class BlobStore(Protocol):
    def new_blob_id(self, compressed: bool = False) -> str:
        """A fresh id; a compressed blob is stored framed and compressed, and reads back
        as the bytes written (ranges included)."""
        ...

    def open_writer(self, blob_id: str) -> BlobWriter: ...

    def read(self, blob_id: str, offset: int, length: int, chunk_size: int) -> Iterator[bytes]:
        """Yield the bytes [offset, offset+length) in chunks of at most chunk_size.
        ``BlobNotFound`` and (for a blob too short) ``BlobDamaged`` come from this call,
        not from the iterator, wherever the store can tell at open."""
        ...

    def stream(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> Iterator[bytes | None]:
        """``read`` for a caller on an event loop: before a chunk that would block (wait
        for the disk, or cost real CPU) it yields None, and the caller resumes the
        iterator on a thread for that chunk."""
        ...

    def size(self, blob_id: str) -> int: ...

    def delete(self, blob_id: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def iter_blob_ids(self) -> Iterator[str]:
        """Every committed blob id on storage (for the start-up sweep)."""
        ...

    def use_session(self, session_id: str) -> None:
        """This store's writers keep their temp files under the session from now on
        (see MetaStore.open_session), apart from every other session's."""
        ...

    def temp_sessions(self) -> list[str]:
        """The sessions that have temp storage (listed before the live sessions are read,
        so that a session registered after the listing is never taken for dead)."""
        ...

    def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        """Delete the temp files of these (dead) sessions, and any temp file of no
        session (a session-less tool's, or an older version's); returns how many. A
        session not named is never touched."""
        ...
