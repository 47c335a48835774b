"""The tools' async code (oortgate.gc, oortgate.sessions) driven from synchronous tests
that set up state through the SQLite and file classes directly: each call runs to
completion in an event loop of its own, on the async adapters over the same database
file and the same blob store."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

from oortgate import gc, sessions, stores
from oortgate.meta.base import MetaStore
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.storage.base import BlobStore

T = TypeVar("T")


def run_on(
    meta: SqliteMetaStore, blobs: stores.Blobs, work: Callable[[MetaStore, BlobStore], Awaitable[T]]
) -> T:
    async def go() -> T:
        opened = AsyncSqliteMeta(SqliteMetaStore(meta.path), SqliteMetaStore(meta.path))
        adapted = stores.async_blobs(blobs)
        try:
            return await work(opened, adapted)
        finally:
            await adapted.close()
            await opened.close()

    return asyncio.run(go())


def collect_garbage(
    meta: SqliteMetaStore, blobs: stores.Blobs, batch: int = gc.BATCH, grace: float | None = None
) -> int:
    return run_on(meta, blobs, lambda m, b: gc.collect_due(m, b, batch, grace))


def startup_sweep(
    meta: SqliteMetaStore, blobs: stores.Blobs, batch: int = gc.BATCH
) -> dict[str, int]:
    """The sweep of a start-up (every garbage blob, orphans)."""
    return run_on(meta, blobs, lambda m, b: gc.sweep(m, b, batch=batch))


def reap_dead_sessions(meta: SqliteMetaStore, blobs: stores.Blobs) -> dict[str, int]:
    return run_on(meta, blobs, sessions.reap_dead_sessions)


def open_session(meta: SqliteMetaStore, blobs: stores.Blobs) -> str:
    """Register a session on ``meta`` itself (its pending marks are the session's)."""
    session_id = meta.open_session(socket.gethostname(), os.getpid())
    blobs.use_session(session_id)
    return session_id
