"""Garbage collection of blobs: the second half of the lifecycle in ``oortgate.meta.base``.

Metadata changes first (an overwrite or delete queues the old blob as garbage in the same
transaction); the files are removed here afterwards. A crash at any point leaves either a
garbage row (collected next time) or an orphan file (found by the start-up sweep), never
a record that points at a missing blob.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

from oortgate.meta.base import MetaStore
from oortgate.sessions import reap_dead_sessions
from oortgate.storage.base import BlobStore
from oortgate.stores import Blobs, MetaDb

BATCH = 1000


def collect_garbage(
    meta: MetaDb, blobs: Blobs, batch: int = BATCH, grace: float | None = None
) -> int:
    """Delete every queued garbage blob (only those queued ``grace`` seconds ago or
    earlier, if given); returns how many were collected.

    The grace lets downloads under way finish with the bytes they started with: a
    multipart object's later parts are opened only as the download reaches them.
    Safe to run from several processes at once: two collectors may take the same ids,
    and deleting a missing file or forgetting a forgotten id is harmless.
    """
    collected = 0
    before = None if grace is None else time.time() - grace
    while ids := meta.take_garbage(batch, before):
        for blob_id in ids:
            blobs.delete(blob_id)
        meta.forget_garbage(ids)  # only once the files are gone
        collected += len(ids)
    return collected


async def collect_due(
    meta: MetaStore, blobs: BlobStore, batch: int = BATCH, grace: float | None = None
) -> int:
    """``collect_garbage`` for a server, on the async stores (the command-line tools
    use the synchronous classes, see ``oortgate.stores``)."""
    collected = 0
    before = None if grace is None else time.time() - grace
    while ids := await meta.take_garbage(batch, before):
        for blob_id in ids:
            await blobs.delete(blob_id)
        await meta.forget_garbage(ids)  # only once the files are gone
        collected += len(ids)
    return collected


def startup_sweep(meta: MetaDb, blobs: Blobs, batch: int = BATCH) -> dict[str, int]:
    """Clean up after a crash, before this server's workers start (no download can be
    under way: every queued blob is collected, grace or not). Only dead sessions'
    pending blobs and temp files are reaped, so it is safe beside a live writer."""
    counts = reap_dead_sessions(meta, blobs)
    counts["garbage"] = collect_garbage(meta, blobs, batch)
    if blobs.sweeps_orphans:  # off where another metadata store names blobs too
        counts["orphans"] = _remove_orphans(meta, blobs, batch)
    return counts


def _remove_orphans(meta: MetaDb, blobs: Blobs, batch: int) -> int:
    """Delete blob files no record knows of. The pending mark normally prevents them;
    this catches the rest (a writer that skipped its mark, a metadata database restored
    from an older backup), so disk space is never leaked for good. Only blobs old
    enough are looked at (see LocalBlobStore.orphan_candidates)."""
    removed = 0
    for ids in _batched(blobs.orphan_candidates(), batch):
        known = meta.known_blobs(ids)
        for blob_id in ids:
            if blob_id not in known:
                blobs.delete(blob_id)
                removed += 1
    return removed


def _batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
