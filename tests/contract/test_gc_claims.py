"""Garbage collection with several collectors, on every MetaStore backend: a claim
(``take_garbage``) deletes its rows, so no two collectors ever get the same id, and the
collector deletes a blob's bytes only once its row is gone (a crash in between leaves an
orphan for the orphan sweep, never a row naming missing bytes). ``meta`` and ``peer``
are the collectors of two workers or gateways."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path

from oortgate import gc, stores
from oortgate.meta.base import MetaStore
from oortgate.storage.local_async import AsyncLocalBlobs

OpenStore = Callable[[], Awaitable[MetaStore]]


async def _queued(meta: MetaStore, count: int) -> list[str]:
    """``count`` blob ids queued as garbage (failed writes: due at once)."""
    blob_ids = sorted(secrets.token_hex(16) for _ in range(count))
    for blob_id in blob_ids:
        await meta.add_pending_blob(blob_id)
        await meta.drop_pending_blob(blob_id)
    return blob_ids


async def test_a_claimed_id_is_no_other_collectors(meta: MetaStore, peer: MetaStore) -> None:
    queued = await _queued(meta, 5)
    first = await meta.take_garbage(limit=2)
    assert first == queued[:2]
    assert await peer.take_garbage() == queued[2:]  # not the ones the first claimed
    assert await meta.take_garbage() == [] and await peer.take_garbage() == []


async def test_collectors_at_once_split_the_work(meta: MetaStore, open_store: OpenStore) -> None:
    queued = await _queued(meta, 60)
    collectors = [meta, *[await open_store() for _ in range(3)]]

    async def collect(store: MetaStore) -> list[str]:
        taken: list[str] = []
        for _ in range(len(queued)):  # bounded: a claim that takes nothing ends it
            if not (ids := await store.take_garbage(limit=3)):
                break
            taken += ids
        return taken

    try:
        shares = await asyncio.gather(*(collect(store) for store in collectors))
    finally:
        for store in collectors[1:]:
            await store.close()
    every = [blob_id for share in shares for blob_id in share]
    assert sorted(every) == queued  # each id once: none twice, none missed


class _Watched(AsyncLocalBlobs):
    """Real blob files; each delete records whether any row still named the blob."""

    def __init__(self, directory: Path, watcher: MetaStore) -> None:
        super().__init__(stores.open_blobs(directory))
        self.watcher = watcher
        self.named_at_delete: dict[str, bool] = {}

    async def delete(self, blob_id: str) -> None:
        self.named_at_delete[blob_id] = bool(await self.watcher.known_blobs([blob_id]))
        await super().delete(blob_id)


async def test_the_row_goes_before_the_bytes(
    meta: MetaStore, peer: MetaStore, tmp_path: Path
) -> None:
    blobs = _Watched(tmp_path / "blobs", peer)
    try:
        queued = []
        for _ in range(3):  # written, then the write failed: garbage with bytes
            blob_id = blobs.new_blob_id()
            await meta.add_pending_blob(blob_id)
            writer = await blobs.open_writer(blob_id)
            await writer.write(b"bytes")
            await writer.commit()
            await meta.drop_pending_blob(blob_id)
            queued.append(blob_id)
        assert await gc.collect_due(meta, blobs, batch=2, grace=0.0) == 3
        assert blobs.named_at_delete == dict.fromkeys(queued, False)
        assert [blob_id async for blob_id in blobs.iter_blob_ids()] == []
    finally:
        await blobs.close()
