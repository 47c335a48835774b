"""The blob store interface. Blobs are immutable and named by random ids, never by keys."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Collection
from typing import Protocol

from oortgate.endpoints import STANDARD


class BlobNotFound(Exception):
    """The blob does not exist (collected, or lost): raised at open, before any byte."""


class BlobDamaged(Exception):
    """The blob holds fewer bytes than asked for, or cannot be decoded: raised at open
    when that is already clear, else by the iterator where the bytes run out."""


class BlobWriter(Protocol):
    """One new blob being written: ``write`` its bytes in order, then ``commit`` or
    ``abort``, one call at a time (the caller awaits each before the next)."""

    blob_id: str

    async def write(self, data: bytes) -> None:
        """Take the bytes (by reference: the caller does not change them afterwards)."""
        ...

    async def commit(self) -> None:
        """Make the blob durable and visible under its id (for files: fsync, rename,
        fsync the directory). Only after this may a record name it."""
        ...

    async def abort(self) -> None:
        """Discard what was written. Safe to call after a failed write or twice; after
        a commit it does nothing (a published blob goes only through the GC)."""
        ...


class BlobStore(Protocol):
    """Blob lifecycle (see ``oortgate.meta.base`` for the metadata half): an id from
    ``new_blob_id`` is marked pending in the metadata store, then written and committed
    here, then named by a record; a blob no record names any more is deleted here by
    the GC. Nothing may be named before its commit returns."""

    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        """A fresh id (no I/O); a compressed blob is stored framed and compressed, and
        reads back as the bytes written (ranges included). ``tier``: the tier of the
        bucket whose object will name it (a store may keep the tiers' blobs apart; the
        id then says where it lives)."""
        ...

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        """Whether an object of ``tier`` may name this blob as it is (no I/O). False:
        it lives in another tier's store, and a copy into ``tier`` writes the bytes
        again."""
        ...

    async def open_writer(self, blob_id: str) -> BlobWriter: ...

    async def read(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        """The bytes [offset, offset+length) in chunks of at most chunk_size. Awaiting
        this opens the blob: ``BlobNotFound`` and (for a blob too short) ``BlobDamaged``
        are raised here, before any byte, wherever the store can tell at open; once
        open, a concurrent delete cannot take the bytes away. The generator raises
        ``BlobDamaged`` where the bytes run out; ``aclose`` it when done early."""
        ...

    async def size(self, blob_id: str) -> int:
        """The blob's logical (uncompressed) size; ``BlobNotFound`` if there is none."""
        ...

    async def delete(self, blob_id: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def iter_blob_ids(self) -> AsyncIterator[str]:
        """Every committed blob id on storage (for the start-up sweep)."""
        ...

    def sweeps_orphans(self) -> bool:
        """Whether the orphan sweep may run over this store at all (False: another
        metadata store names blobs here too, or the store cannot tell a blob's age)."""
        ...

    def orphan_candidates(self, min_age: float = 0.0) -> AsyncIterator[str]:
        """The committed blob ids the orphan sweep may look up (and delete if no record
        knows them): those at least ``min_age`` seconds old, and old enough for the
        store (a blob another gateway has just committed may not have its record visible
        yet); none when ``sweeps_orphans`` is False."""
        ...

    async def count_temp_files(self) -> int:
        """Temp files of uploads under way or left behind, every session's (a tool's count)."""
        ...

    async def use_session(self, session_id: str) -> None:
        """This store's writers keep their temp files under the session from now on
        (see MetaStore.open_session), apart from every other session's."""
        ...

    async def temp_sessions(self) -> list[str]:
        """The sessions that have temp storage (listed before the live sessions are read,
        so that a session registered after the listing is never taken for dead)."""
        ...

    async def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        """Delete the temp files of these (dead) sessions, and any temp file of no
        session (a session-less tool's, or an older version's); returns how many. A
        session not named is never touched."""
        ...

    async def ping(self) -> None:
        """Raise if the store cannot serve now (for readiness; a local directory's
        writability is checked by the health check itself)."""
        ...

    async def close(self) -> None: ...
