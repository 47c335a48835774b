"""Garbage collection and the start-up sweep, with a real SQLite file and real blob files."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from oortgate.gc import collect_due
from oortgate.meta.models import BlobBody, ObjectRecord, StorageUsage
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from tests.sync_stores import collect_garbage, startup_sweep


@pytest.fixture
def env(tmp_path: Path) -> tuple[SqliteMetaStore, LocalBlobStore, int]:
    meta = SqliteMetaStore(tmp_path / "meta.db")
    blobs = LocalBlobStore(tmp_path / "data")
    owner = meta.create_user("owner")
    return meta, blobs, meta.create_bucket("b", owner.id, "r", 10).id


def _write(blobs: LocalBlobStore, data: bytes = b"data") -> str:
    blob_id = blobs.new_blob_id()
    writer = blobs.open_writer(blob_id)
    writer.write(data)
    writer.commit()
    return blob_id


def _upload(meta: SqliteMetaStore, blobs: LocalBlobStore, bucket_id: int, key: str) -> str:
    """The handler's order: pending mark, blob file, then the object record."""
    blob_id = blobs.new_blob_id()
    meta.add_pending_blob(blob_id)
    writer = blobs.open_writer(blob_id)
    writer.write(key.encode())
    writer.commit()
    meta.put_object(ObjectRecord(bucket_id, key, BlobBody(blob_id, len(key)), len(key), "e", 0.0))
    return blob_id


def _on_disk(blobs: LocalBlobStore) -> set[str]:
    return set(blobs.iter_blob_ids())


def test_overwrite_and_delete_are_collected(
    env: tuple[SqliteMetaStore, LocalBlobStore, int],
) -> None:
    meta, blobs, bucket_id = env
    old = _upload(meta, blobs, bucket_id, "k")
    new = _upload(meta, blobs, bucket_id, "k")
    other = _upload(meta, blobs, bucket_id, "other")
    assert meta.delete_object(bucket_id, "other")
    assert _on_disk(blobs) == {old, new, other}  # metadata first, files afterwards
    assert collect_garbage(meta, blobs) == 2
    assert _on_disk(blobs) == {new}
    assert meta.take_garbage() == []
    assert collect_garbage(meta, blobs) == 0


def test_shared_blob_kept_until_last_reference(
    env: tuple[SqliteMetaStore, LocalBlobStore, int],
) -> None:
    meta, blobs, bucket_id = env
    shared = _upload(meta, blobs, bucket_id, "src")
    meta.put_object(ObjectRecord(bucket_id, "copy", BlobBody(shared, 3), 3, "e", 0.0))
    meta.delete_object(bucket_id, "src")
    assert collect_garbage(meta, blobs) == 0
    assert _on_disk(blobs) == {shared}
    meta.delete_object(bucket_id, "copy")
    assert collect_garbage(meta, blobs) == 1
    assert _on_disk(blobs) == set()


def test_collect_in_small_batches(env: tuple[SqliteMetaStore, LocalBlobStore, int]) -> None:
    meta, blobs, bucket_id = env
    for i in range(25):
        _upload(meta, blobs, bucket_id, f"k{i}")
        meta.delete_object(bucket_id, f"k{i}")
    assert collect_garbage(meta, blobs, batch=4) == 25
    assert _on_disk(blobs) == set()


def test_concurrent_collectors(
    tmp_path: Path, env: tuple[SqliteMetaStore, LocalBlobStore, int]
) -> None:
    meta, blobs, bucket_id = env
    for i in range(60):
        _upload(meta, blobs, bucket_id, f"k{i}")
        meta.delete_object(bucket_id, f"k{i}")
    second = SqliteMetaStore(tmp_path / "meta.db")  # as another worker process would
    errors: list[BaseException] = []

    def run(store: SqliteMetaStore) -> None:
        try:
            collect_garbage(store, LocalBlobStore(tmp_path / "data"), batch=7)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(s,)) for s in (meta, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _on_disk(blobs) == set() and meta.take_garbage() == []
    second.close()


def test_startup_sweep_after_crash(env: tuple[SqliteMetaStore, LocalBlobStore, int]) -> None:
    meta, blobs, bucket_id = env
    kept = _upload(meta, blobs, bucket_id, "kept")
    copied = _upload(meta, blobs, bucket_id, "src")
    meta.put_object(ObjectRecord(bucket_id, "copy", BlobBody(copied, 3), 3, "e", 0.0))
    meta.delete_object(bucket_id, "src")  # "copy" still references it
    # Crash 1: blob written and renamed, but the process died before put_object.
    crashed = blobs.new_blob_id()
    meta.add_pending_blob(crashed)
    writer = blobs.open_writer(crashed)
    writer.write(b"never committed")
    writer.commit()
    # Crash 2: pending mark, died mid-write (temp file only).
    mid_write = blobs.new_blob_id()
    meta.add_pending_blob(mid_write)
    blobs.open_writer(mid_write).write(b"partial")
    # Crash 3: an overwrite queued garbage but the collector never ran.
    replaced = _upload(meta, blobs, bucket_id, "replaced")
    _upload(meta, blobs, bucket_id, "replaced")
    # A file no record knows at all.
    orphan = _write(blobs)

    counts = startup_sweep(meta, blobs)

    assert counts == {"sessions": 0, "temp": 1, "pending": 2, "garbage": 3, "orphans": 1}
    on_disk = _on_disk(blobs)
    assert {kept, copied} <= on_disk
    assert not {crashed, mid_write, replaced, orphan} & on_disk
    assert len(on_disk) == 3  # kept, copied, and the new "replaced"
    assert os.listdir(blobs.root / "tmp") == []
    for key in ("kept", "copy", "replaced"):
        record = meta.get_object(bucket_id, key)
        assert record is not None and blobs.size(record.blob_ids[0]) > 0
    assert startup_sweep(meta, blobs) == {
        "sessions": 0,
        "temp": 0,
        "pending": 0,
        "garbage": 0,
        "orphans": 0,
    }


def test_sweep_many_orphans_in_batches(env: tuple[SqliteMetaStore, LocalBlobStore, int]) -> None:
    meta, blobs, bucket_id = env
    kept = {_upload(meta, blobs, bucket_id, f"k{i}") for i in range(10)}
    for _ in range(30):
        _write(blobs)
    assert startup_sweep(meta, blobs, batch=8)["orphans"] == 30
    assert _on_disk(blobs) == kept


def test_grace_keeps_fresh_garbage_but_not_failed_writes_nor_at_start_up(
    env: tuple[SqliteMetaStore, LocalBlobStore, int],
) -> None:
    """With a grace period, an overwritten object's blob stays until the grace has passed
    (a download under way may still open it); a failed write's blob, which no reader ever
    saw, goes at once; the start-up sweep, with no reader alive, takes everything."""
    meta, blobs, bucket = env
    old = _upload(meta, blobs, bucket, "k")
    _upload(meta, blobs, bucket, "k")  # old is garbage now
    failed = blobs.new_blob_id()
    meta.add_pending_blob(failed)
    writer = blobs.open_writer(failed)
    writer.write(b"never named")
    writer.commit()
    meta.drop_pending_blob(failed)
    assert collect_garbage(meta, blobs, grace=60) == 1
    assert failed not in _on_disk(blobs) and old in _on_disk(blobs)
    assert meta.take_garbage(queued_before=time.time() - 60) == []
    assert collect_garbage(meta, blobs, grace=0) == 1
    assert old not in _on_disk(blobs)
    fresh = _upload(meta, blobs, bucket, "k2")
    meta.delete_object(bucket, "k2")
    assert startup_sweep(meta, blobs)["garbage"] == 1
    assert fresh not in _on_disk(blobs)


def test_usage_counts_objects_and_the_garbage_backlog(
    env: tuple[SqliteMetaStore, LocalBlobStore, int],
) -> None:
    meta, blobs, bucket_id = env
    assert meta.usage(time.time()) == StorageUsage(0, 0, 0, 0)
    _upload(meta, blobs, bucket_id, "k")
    _upload(meta, blobs, bucket_id, "k")  # the first blob is now garbage
    _upload(meta, blobs, bucket_id, "longer")
    assert meta.usage(time.time() + 1) == StorageUsage(len("k") + len("longer"), 2, 1, 0)
    assert meta.usage(time.time() - 3600) == StorageUsage(7, 2, 0, 1)  # in its grace period


def test_the_server_collects_through_the_async_stores(
    env: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    """gc.collect_due (the server's periodic pass) on the async adapters: what is due
    goes, file first, then its garbage row; what is in its grace stays."""
    meta, blobs, bucket_id = env
    old = _upload(meta, blobs, bucket_id, "k")
    _upload(meta, blobs, bucket_id, "k")  # old is garbage now
    reader = SqliteMetaStore(tmp_path / "meta.db")
    stores = AsyncSqliteMeta(SqliteMetaStore(tmp_path / "meta.db"), reader), AsyncLocalBlobs(blobs)

    async def collect(grace: float) -> int:
        return await collect_due(*stores, grace=grace)

    assert asyncio.run(collect(3600)) == 0 and old in _on_disk(blobs)
    assert asyncio.run(collect(0)) == 1
    assert old not in _on_disk(blobs) and meta.take_garbage() == []
    asyncio.run(stores[0].close())
    asyncio.run(stores[1].close())
