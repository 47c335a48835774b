"""The fsck checker on a real SQLite file and real blob files (no server): what it
reports, and what it does not (a row the server changed while it looked)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from oortgate.fsck import Checker, Options, Report
from oortgate.fsck_cli import human_size, summary
from oortgate.meta.models import BlobBody, ObjectRecord
from oortgate.meta.scan import Entry, MetaScan
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_scan import SqliteScan
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[SqliteMetaStore, LocalBlobStore, int]]:
    meta = SqliteMetaStore(tmp_path / "meta.sqlite3")
    owner = meta.create_user("owner")
    yield meta, LocalBlobStore(tmp_path), meta.create_bucket("b", owner.id, "r", 10).id
    meta.close()


def _put(
    meta: SqliteMetaStore, blobs: LocalBlobStore, bucket_id: int, key: str, data: bytes
) -> str:
    blob_id = blobs.new_blob_id()
    meta.add_pending_blob(blob_id)
    writer = blobs.open_writer(blob_id)
    writer.write(data)
    writer.commit()
    record = ObjectRecord(bucket_id, key, BlobBody(blob_id, len(data)), len(data),
                          hashlib.md5(data).hexdigest(), 0.0)  # fmt: skip
    meta.put_object(record)
    return blob_id


class _ChangingScan(SqliteScan):
    """Runs ``change`` after the objects are read and before they are checked, as a
    server writing meanwhile would."""

    def __init__(self, path: Path, change: object) -> None:
        super().__init__(path)
        self._change = change

    async def objects(self) -> AsyncIterator[Entry]:
        entries = [entry async for entry in super().objects()]
        self._change()  # type: ignore[operator]
        for entry in entries:
            yield entry


def _run(scan: MetaScan, blobs: LocalBlobStore, options: Options) -> Report:
    """The checker on the async blob store over ``blobs``, in an event loop of its own."""

    async def go() -> Report:
        adapted = AsyncLocalBlobs(blobs)
        try:
            return await Checker(scan, adapted, options).run()
        finally:
            await adapted.close()

    return asyncio.run(go())


def _check(
    tmp_path: Path, blobs: LocalBlobStore, change: object, **options: object
) -> dict[str, Any]:
    scan = _ChangingScan(tmp_path / "meta.sqlite3", change)
    try:
        report = _run(scan, blobs, Options(**options))  # type: ignore[arg-type]
    finally:
        asyncio.run(scan.close())
    return summary(report, Options())


def test_an_object_replaced_while_checked_is_no_problem(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    meta, blobs, bucket_id = stores
    old = _put(meta, blobs, bucket_id, "k", b"old bytes")

    def overwrite_and_collect() -> None:
        _put(meta, blobs, bucket_id, "k", b"new bytes!")
        assert meta.take_garbage() == [old]  # what the collector does once the grace is over
        blobs.delete(old)

    report = _check(tmp_path, blobs, overwrite_and_collect, deep=True, grace=0.0)
    assert report["clean"], report
    assert report["objects"] == 1


def test_a_blob_lost_while_checked_is_a_problem(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    meta, blobs, bucket_id = stores
    lost = _put(meta, blobs, bucket_id, "k", b"bytes")
    report = _check(tmp_path, blobs, lambda: blobs.delete(lost))
    assert (report["missing"], report["problems"][0]["blob_id"]) == (1, lost)


def test_pending_and_garbage_blobs_are_no_orphans(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    meta, blobs, bucket_id = stores
    pending = blobs.new_blob_id()
    meta.add_pending_blob(pending)
    writer = blobs.open_writer(pending)
    writer.write(b"a writer's, not committed yet")
    writer.commit()
    old = _put(meta, blobs, bucket_id, "k", b"one")
    _put(meta, blobs, bucket_id, "k", b"two")  # old is queued as garbage
    orphan = blobs.new_blob_id()
    writer = blobs.open_writer(orphan)
    writer.write(b"nobody's")
    writer.commit()
    report = _check(tmp_path, blobs, lambda: None, grace=0.0, repair=True)
    assert [(p["kind"], p["blob_id"], p["repaired"]) for p in report["problems"]] == [
        ("orphan", orphan, True)
    ]
    live = meta.get_object(bucket_id, "k")
    assert live is not None
    assert set(blobs.iter_blob_ids()) == {pending, old, *live.blob_ids}


def test_human_size() -> None:
    assert human_size(0) == "0 bytes"
    assert human_size(999) == "999 bytes"
    assert human_size(1_234_567) == "1.2 MB"
    assert human_size(5 * 10**15) == "5000.0 TB"


def test_a_row_that_does_not_decode_is_reported_and_no_orphan_is_sought(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    meta, blobs, bucket_id = stores
    _put(meta, blobs, bucket_id, "k", b"fine bytes")
    _put(meta, blobs, bucket_id, "z", b"more bytes")
    unknown = blobs.new_blob_id()
    writer = blobs.open_writer(unknown)
    writer.write(b"would look like an orphan")
    writer.commit()
    with sqlite3.connect(tmp_path / "meta.sqlite3") as db:
        db.execute("UPDATE objects SET checksums = '{\"CRC32\": ' WHERE key = 'k'")
    report = _check(tmp_path, blobs, lambda: None, deep=True, grace=0.0, repair=True)
    (problem,) = report["problems"]
    assert (problem["kind"], problem["key"]) == ("database", "k")
    assert "checksums" in problem["detail"] and report["objects"] == 2
    assert report["orphans"] == 0 and blobs.path(unknown).exists()


def test_compressed_blobs_by_their_logical_size(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    meta, blobs, bucket_id = stores
    data = b"compressible " * 300_000  # 3.9 MB: four frames
    ids = {}
    for key in ("fine", "cut", "flipped"):
        blob_id = blobs.new_blob_id(compressed=True)
        meta.add_pending_blob(blob_id)
        writer = blobs.open_writer(blob_id)
        writer.write(data)
        writer.commit()
        etag = hashlib.md5(data).hexdigest()
        meta.put_object(ObjectRecord(bucket_id, key, BlobBody(blob_id, len(data)), len(data), etag,
                                     0.0))  # fmt: skip
        ids[key] = blob_id
    assert blobs.path(ids["fine"]).stat().st_size < len(data) // 10
    os.truncate(blobs.path(ids["cut"]), blobs.path(ids["cut"]).stat().st_size - 5)
    with open(blobs.path(ids["flipped"]), "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0x55]))
    report = _check(tmp_path, blobs, lambda: None)
    found = [(p["kind"], p["key"]) for p in report["problems"]]
    assert found == [("size_mismatch", "cut")], report
    report = _check(tmp_path, blobs, lambda: None, deep=True)
    found = [(p["kind"], p["key"]) for p in report["problems"]]
    assert found == [("size_mismatch", "cut"), ("checksum_mismatch", "flipped")], report


def test_rows_that_point_nowhere_are_database_problems(
    stores: tuple[SqliteMetaStore, LocalBlobStore, int], tmp_path: Path
) -> None:
    """An object without its bucket row, an upload's part without its upload row."""
    meta, blobs, bucket_id = stores
    _put(meta, blobs, bucket_id, "k", b"bytes")
    part_blob = _put(meta, blobs, bucket_id, "p", b"part")
    with sqlite3.connect(tmp_path / "meta.sqlite3") as db:
        db.execute("PRAGMA foreign_keys = OFF")
        db.execute("UPDATE objects SET bucket_id = 99 WHERE key = 'k'")
        db.execute("DELETE FROM objects WHERE key = 'p'")
        db.execute("INSERT INTO upload_parts (upload_id, part_number, blob_id, size, etag,"
                   " last_modified) VALUES ('gone', 1, ?, 4, ?, 0)",
                   (part_blob, hashlib.md5(b"part").hexdigest()))  # fmt: skip
    report = _check(tmp_path, blobs, lambda: None, deep=True)
    found = [(p["kind"], p["bucket"], p["detail"]) for p in report["problems"]]
    assert found == [
        ("database", "#99", "no bucket has the id 99"),
        ("database", "", "no upload has this id"),
    ], report


def test_reference_counts_checked_and_repaired(
    tmp_path: Path, stores: tuple[SqliteMetaStore, LocalBlobStore, int]
) -> None:
    """A count that drifted from the rows (here: changed around the store) is reported,
    and with --repair set to the references counted again, in a write transaction."""
    meta, blobs, bucket_id = stores
    blob_id = _put(meta, blobs, bucket_id, "k", b"data")
    meta._conn.execute("UPDATE blobs SET refs = 3 WHERE blob_id = ?", (blob_id,))
    scan = SqliteScan(tmp_path / "meta.sqlite3", lambda: SqliteMetaStore(meta.path))
    try:
        report = _run(scan, blobs, Options())
        assert [(p.kind, p.blob_id, p.repaired) for p in report.problems] == [
            ("refcount", blob_id, False)
        ]
        assert summary(report, Options())["refcount_mismatch"] == 1
        report = _run(scan, blobs, Options(repair=True))
        assert [(p.kind, p.repaired) for p in report.problems] == [("refcount", True)]
        assert _run(scan, blobs, Options()).clean
    finally:
        asyncio.run(scan.close())
    assert meta.delete_object(bucket_id, "k")  # the one real reference: garbage now
    assert meta.take_garbage() == [blob_id]
