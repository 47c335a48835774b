"""Two tiers, two blob stores: a router that sends each blob to its tier's store.

Used when ``archive_blob_url`` names another store than ``blob_url``. The tier is part of
the blob id (``a-`` + the archive store's id), so the id alone says where a blob lives:
the metadata store keeps ids opaque, and its garbage queue, the collector, the sweeps and
fsck need no tier of their own. Ids without the prefix are the standard store's: blobs
written before the archive tier was set apart keep working where they are. Once set
apart, ``archive_blob_url`` must stay (a prefixed id means nothing to a single store).
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator, AsyncIterator, Collection
from typing import Generic, TypeVar

from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.storage.base import BlobStore, BlobWriter

ARCHIVE_PREFIX = "a-"
# Any blob id a router hands out (see oortgate.storage.local.BLOB_ID_PATTERN).
TIERED_BLOB_ID = re.compile(r"(?:a-)?[0-9a-f]{32}z?")
S = TypeVar("S")


class _Routes(Generic[S]):
    def __init__(self, standard: S, archive: S) -> None:
        self.standard = standard
        self.archive = archive

    def of(self, blob_id: str) -> tuple[S, str]:
        """The store holding ``blob_id`` and the id it knows the blob by."""
        if blob_id.startswith(ARCHIVE_PREFIX):
            return self.archive, blob_id[len(ARCHIVE_PREFIX) :]
        return self.standard, blob_id

    @staticmethod
    def tier_of(blob_id: str) -> str:
        return ARCHIVE if blob_id.startswith(ARCHIVE_PREFIX) else STANDARD

    @staticmethod
    def named(tier: str, inner_id: str) -> str:
        return ARCHIVE_PREFIX + inner_id if tier == ARCHIVE else inner_id


class _PrefixedWriter:
    def __init__(self, inner: BlobWriter, blob_id: str) -> None:
        self.blob_id = blob_id
        self._inner = inner

    async def write(self, data: bytes) -> None:
        await self._inner.write(data)

    async def commit(self) -> None:
        await self._inner.commit()

    async def abort(self) -> None:
        await self._inner.abort()


class TieredBlobs:
    """A BlobStore over one store per tier (what a server worker runs on)."""

    def __init__(self, standard: BlobStore, archive: BlobStore) -> None:
        self._routes = _Routes(standard, archive)

    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        store = self._routes.archive if tier == ARCHIVE else self._routes.standard
        return self._routes.named(tier, store.new_blob_id(compressed, tier))

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        return self._routes.tier_of(blob_id) == tier

    async def open_writer(self, blob_id: str) -> BlobWriter:
        store, inner = self._routes.of(blob_id)
        writer = await store.open_writer(inner)
        return writer if inner == blob_id else _PrefixedWriter(writer, blob_id)

    async def read(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        store, inner = self._routes.of(blob_id)
        return await store.read(inner, offset, length, chunk_size)

    async def size(self, blob_id: str) -> int:
        store, inner = self._routes.of(blob_id)
        return await store.size(inner)

    async def delete(self, blob_id: str) -> None:
        store, inner = self._routes.of(blob_id)
        await store.delete(inner)

    async def iter_blob_ids(self) -> AsyncIterator[str]:
        async for blob_id in self._routes.standard.iter_blob_ids():
            yield blob_id
        async for blob_id in self._routes.archive.iter_blob_ids():
            yield ARCHIVE_PREFIX + blob_id

    def sweeps_orphans(self) -> bool:
        return self._routes.standard.sweeps_orphans() and self._routes.archive.sweeps_orphans()

    async def orphan_candidates(self, min_age: float = 0.0) -> AsyncIterator[str]:
        async for blob_id in self._routes.standard.orphan_candidates(min_age):
            yield blob_id
        async for blob_id in self._routes.archive.orphan_candidates(min_age):
            yield ARCHIVE_PREFIX + blob_id

    async def count_temp_files(self) -> int:
        standard = await self._routes.standard.count_temp_files()
        return standard + await self._routes.archive.count_temp_files()

    async def use_session(self, session_id: str) -> None:
        await self._routes.standard.use_session(session_id)
        await self._routes.archive.use_session(session_id)

    async def temp_sessions(self) -> list[str]:
        listed = await self._routes.standard.temp_sessions()
        more = await self._routes.archive.temp_sessions()
        return listed + [s for s in more if s not in listed]

    async def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        removed = await self._routes.standard.remove_temp_files(sessions)
        return removed + await self._routes.archive.remove_temp_files(sessions)

    async def ping(self) -> None:
        await self._routes.standard.ping()
        await self._routes.archive.ping()

    async def close(self) -> None:
        await self._routes.standard.close()
        await self._routes.archive.close()
