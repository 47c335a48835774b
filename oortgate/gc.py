"""Garbage collection of blobs: the second half of the lifecycle in ``oortgate.meta.base``.

Metadata changes first (an overwrite or delete queues the old blob as garbage in the same
transaction); the files are removed here afterwards, once a claim deleted their rows.
A crash at any point leaves either a garbage row (collected next time) or an orphan file
(found by the orphan sweep), never a record that points at a missing blob. Everything
here runs on the async store interfaces: a server worker's collector, the start-up sweep
and ``oortgate gc`` alike, on any backend.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from oortgate.config import SESSION_TIMEOUT
from oortgate.meta.base import MetaStore
from oortgate.sessions import reap_dead_sessions
from oortgate.storage.base import BlobStore

BATCH = 1000


async def collect_due(
    meta: MetaStore, blobs: BlobStore, batch: int = BATCH, grace: float | None = None
) -> int:
    """Delete every queued garbage blob (only those queued ``grace`` seconds ago or
    earlier, if given); returns how many were collected.

    The grace lets downloads under way finish with the bytes they started with: a
    multipart object's later parts are opened only as the download reaches them.
    Safe to run from several processes at once: each claim deletes its rows (on
    PostgreSQL skipping those another collector is claiming), so collectors take
    disjoint ids, and the bytes go only after their row (see MetaStore.take_garbage).
    """
    collected = 0
    before = None if grace is None else time.time() - grace
    while ids := await meta.take_garbage(batch, before):
        for blob_id in ids:
            await blobs.delete(blob_id)  # the row is gone: no collector deletes it twice
        collected += len(ids)
    return collected


async def sweep(
    meta: MetaStore,
    blobs: BlobStore,
    grace: float | None = None,
    orphans: bool = True,
    batch: int = BATCH,
    session_timeout: float = SESSION_TIMEOUT,
) -> dict[str, int]:
    """Clean up after crashes: dead sessions' pending blobs and temp files, the garbage
    (``grace``: only what is due; None: all, when no download can be under way), and, with
    ``orphans``, blob files no record knows (by one sweeper at a time, and only where
    this metadata store alone names blobs: the "orphans" count is then reported). A live
    session's pending blob or temp file is never touched."""
    counts = await reap_dead_sessions(meta, blobs, session_timeout)
    counts["garbage"] = await collect_due(meta, blobs, batch, grace)
    if orphans and blobs.sweeps_orphans():
        async with meta.orphan_sweep() as mine:
            if mine:
                counts["orphans"] = await _remove_orphans(meta, blobs, batch)
    return counts


async def _remove_orphans(meta: MetaStore, blobs: BlobStore, batch: int) -> int:
    """Delete blob files no record knows of. The pending mark normally prevents them;
    this catches the rest (a writer that skipped its mark, a metadata database restored
    from an older backup), so disk space is never leaked for good. Only blobs old
    enough are looked at (see BlobStore.orphan_candidates)."""
    removed = 0
    async for ids in _batched(blobs.orphan_candidates(), batch):
        known = await meta.known_blobs(ids)
        for blob_id in ids:
            if blob_id not in known:
                await blobs.delete(blob_id)
                removed += 1
    return removed


async def _batched(items: AsyncIterator[str], size: int) -> AsyncIterator[list[str]]:
    chunk: list[str] = []
    async for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
