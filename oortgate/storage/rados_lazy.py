"""The RADOS blob store as a server worker holds it: built before the worker's event
loop runs, connected in that loop on first use (librados's threads do not survive the
fork that made the worker, so nothing may connect before it).

While the cluster cannot be reached, calls raise ``StoreUnavailable`` (503 with
Retry-After) instead of an internal error: opening is retried by the next call (at most
one attempt in flight, and none for a second after a failure, so a dead cluster costs
each request nothing more than the wait of the attempt already running), and an
operation the cluster did not answer in time (ETIMEDOUT) is reported the same way.
"""

from __future__ import annotations

import asyncio
import errno
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Collection
from typing import TypeVar

from oortgate.endpoints import STANDARD
from oortgate.errors import StoreUnavailable
from oortgate.storage import rados_cluster as io
from oortgate.storage.base import BlobWriter
from oortgate.storage.rados_blobs import RadosBlobStore, RadosUnavailable, open_rados_blobs
from oortgate.storage.rados_layout import NO_SESSION
from oortgate.store_urls import RadosBlobs

RETRY_AFTER_FAILURE = 1.0  # seconds during which a failed connect is not tried again
# What librados returns when the cluster does not answer (or the handle went away).
_UNAVAILABLE = frozenset({errno.ETIMEDOUT, errno.ESHUTDOWN, errno.ENOTCONN, errno.ECONNREFUSED})
T = TypeVar("T")


class LazyRadosBlobs:
    def __init__(self, location: RadosBlobs, session_id: str | None = None,
                 connect_timeout: int = io.CONNECT_TIMEOUT) -> None:  # fmt: skip
        self.location = location
        self._session = session_id or NO_SESSION
        self._timeout = connect_timeout
        self._store: RadosBlobStore | None = None
        self._opening: asyncio.Task[RadosBlobStore] | None = None
        self._failed: tuple[float, str] | None = None  # (when, why) of the last attempt

    async def _opened(self) -> RadosBlobStore:
        if self._store is not None:
            return self._store
        if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_AFTER_FAILURE:
            raise StoreUnavailable(self._failed[1])
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._open())
        opening = self._opening
        try:
            # Shielded: a request that gives up does not cancel the others' attempt.
            store = await asyncio.shield(opening)
        except RadosUnavailable as exc:
            self._failed = (time.monotonic(), str(exc))
            raise StoreUnavailable(str(exc)) from None
        finally:
            if self._opening is opening and opening.done():
                self._opening = None
        self._store, self._failed = store, None
        return store

    async def _open(self) -> RadosBlobStore:
        where = self.location
        store = await open_rados_blobs(where.pool, where.conf_path, where.client,
                                       where.namespace, self._timeout)  # fmt: skip
        if self._session != NO_SESSION:
            await store.use_session(self._session)
        return store

    async def _call(self, call: Awaitable[T]) -> T:
        """Await a store call; a cluster that did not answer is StoreUnavailable."""
        try:
            return await call
        except OSError as exc:
            if exc.errno in _UNAVAILABLE:
                raise StoreUnavailable(f"{self._url()}: {exc}") from None
            raise

    def _url(self) -> str:
        where = self.location
        return io.rados_url(where.pool, where.conf_path, where.client)

    # -- the BlobStore protocol ------------------------------------------------------
    def new_blob_id(self, compressed: bool = False, tier: str = STANDARD) -> str:
        return RadosBlobStore.fresh_id(compressed)

    def serves_tier(self, blob_id: str, tier: str) -> bool:
        return True

    async def open_writer(self, blob_id: str) -> BlobWriter:
        return _Writer(await (await self._opened()).open_writer(blob_id), self)

    async def read(
        self, blob_id: str, offset: int, length: int, chunk_size: int
    ) -> AsyncGenerator[bytes, None]:
        store = await self._opened()
        return await self._call(store.read(blob_id, offset, length, chunk_size))

    async def size(self, blob_id: str) -> int:
        return await self._call((await self._opened()).size(blob_id))

    async def delete(self, blob_id: str) -> None:
        await self._call((await self._opened()).delete(blob_id))

    async def iter_blob_ids(self) -> AsyncIterator[str]:
        async for blob_id in (await self._opened()).iter_blob_ids():
            yield blob_id

    def sweeps_orphans(self) -> bool:
        return True  # as RadosBlobStore's

    async def orphan_candidates(self, min_age: float = 0.0) -> AsyncIterator[str]:
        async for blob_id in (await self._opened()).orphan_candidates(min_age):
            yield blob_id

    async def count_temp_files(self) -> int:
        return await self._call((await self._opened()).count_temp_files())

    async def use_session(self, session_id: str) -> None:
        self._session = session_id
        if self._store is not None:
            await self._store.use_session(session_id)

    async def temp_sessions(self) -> list[str]:
        return await self._call((await self._opened()).temp_sessions())

    async def remove_temp_files(self, sessions: Collection[str] = ()) -> int:
        return await self._call((await self._opened()).remove_temp_files(sessions))

    async def ping(self) -> None:
        await self._call((await self._opened()).ping())

    async def close(self) -> None:
        if self._opening is not None:
            self._opening.cancel()
        if self._store is not None:
            store, self._store = self._store, None
            await store.close()


class _Writer:
    """A writer whose unanswered operations are StoreUnavailable too (it has already
    removed what it wrote when its error comes out)."""

    def __init__(self, inner: BlobWriter, store: LazyRadosBlobs) -> None:
        self.blob_id = inner.blob_id
        self._inner, self._store = inner, store

    async def write(self, data: bytes) -> None:
        await self._store._call(self._inner.write(data))

    async def commit(self) -> None:
        await self._store._call(self._inner.commit())

    async def abort(self) -> None:
        await self._store._call(self._inner.abort())
