"""Multipart uploads in the SQLite metadata store, and how their blobs live and die."""

from __future__ import annotations

import secrets
from contextlib import closing
from pathlib import Path

import pytest

from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord, Part, PartsBody, Segment, Upload
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.storage.local import LocalBlobStore
from tests.sync_stores import startup_sweep
from tests.unit._sqlite_versions import database_at


@pytest.fixture
def meta(tmp_path: Path) -> SqliteMetaStore:
    store = SqliteMetaStore(tmp_path / "meta.sqlite3")
    user = store.create_user("u")
    store.create_bucket("bucket", user.id, "us-east-1", 100)
    return store


def bucket_id(meta: SqliteMetaStore) -> int:
    bucket = meta.get_bucket("bucket")
    assert bucket is not None
    return bucket.id


def new_upload(meta: SqliteMetaStore, key: str = "k") -> Upload:
    upload = Upload(secrets.token_hex(8), bucket_id(meta), key, 1.0)
    meta.create_upload(upload)
    return upload


def add_part(
    meta: SqliteMetaStore, upload: Upload, number: int, size: int = 10, checksum: str | None = None
) -> Part:
    blob = secrets.token_hex(16)
    meta.add_pending_blob(blob)
    part = Part(number, blob, size, secrets.token_hex(16), 2.0, checksum)
    meta.put_part(upload.upload_id, part)
    return part


def record_for(upload: Upload, parts: list[Part]) -> ObjectRecord:
    body = PartsBody(tuple(Segment(p.blob_id, p.size, p.part_number, p.checksum) for p in parts))
    return ObjectRecord(upload.bucket_id, upload.key, body, sum(p.size for p in parts), "e-2", 3.0)


def test_parts_replace_and_release(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    first = add_part(meta, upload, 1)
    again = add_part(meta, upload, 1)
    add_part(meta, upload, 3)
    assert [p.part_number for p in meta.list_parts(upload.upload_id)] == [1, 3]
    assert meta.list_parts(upload.upload_id)[0] == again
    assert meta.list_parts(upload.upload_id, after=1) == meta.list_parts(upload.upload_id)[1:]
    assert meta.take_garbage() == [first.blob_id]


def test_complete_keeps_used_parts_and_frees_the_rest(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    p1, p2, p3 = (add_part(meta, upload, n, size=n * 10) for n in (1, 2, 3))
    record = record_for(upload, [p1, p3])
    meta.complete_upload(upload.upload_id, record, [p1, p3])
    got = meta.get_object(upload.bucket_id, "k")
    assert got == record
    # Each part keeps the number it was uploaded as (GetObjectAttributes shows it).
    assert got is not None and got.body == PartsBody((
        Segment(p1.blob_id, 10, 1),
        Segment(p3.blob_id, 30, 3),
    ))  # fmt: skip
    assert meta.get_upload(upload.upload_id) is None
    assert meta.take_garbage() == [p2.blob_id]
    assert meta.known_blobs([p1.blob_id, p3.blob_id]) == {p1.blob_id, p3.blob_id}
    # A later complete of the same id finds nothing; listings see a plain entry.
    with pytest.raises(S3Error) as info:
        meta.complete_upload(upload.upload_id, record, [p1, p3])
    assert info.value.code == "NoSuchUpload"
    page = meta.list_objects(upload.bucket_id)
    assert [(o.key, o.body, o.size) for o in page.objects] == [("k", None, 40)]


def test_complete_keeps_part_checksums_and_copies_share_them(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    parts = [add_part(meta, upload, n, checksum=f"sum{n}==") for n in (2, 5)]
    meta.complete_upload(upload.upload_id, record_for(upload, parts), parts)
    got = meta.get_object(upload.bucket_id, "k")
    assert got is not None and isinstance(got.body, PartsBody)
    assert [(s.part_number, s.checksum) for s in got.body.parts] == [(2, "sum2=="), (5, "sum5==")]
    meta.put_object(ObjectRecord(**{**{f: getattr(got, f) for f in got.__slots__}, "key": "c"}))
    copy = meta.get_object(upload.bucket_id, "c")
    assert copy is not None and copy.body == got.body


def test_overwriting_and_copying_a_multipart_object(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    parts = [add_part(meta, upload, n) for n in (1, 2)]
    meta.complete_upload(upload.upload_id, record_for(upload, parts), parts)
    source = meta.get_object(upload.bucket_id, "k")
    assert source is not None
    copy = ObjectRecord(**{**{f: getattr(source, f) for f in source.__slots__}, "key": "copy"})
    meta.put_object(copy)  # shares the part blobs
    assert meta.delete_object(upload.bucket_id, "k")
    assert meta.take_garbage() == []  # still referenced by the copy
    assert meta.delete_object(upload.bucket_id, "copy")
    assert sorted(meta.take_garbage()) == sorted(p.blob_id for p in parts)


def test_complete_refuses_a_part_replaced_meanwhile(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    p1 = add_part(meta, upload, 1)
    add_part(meta, upload, 1)
    with pytest.raises(S3Error) as info:
        meta.complete_upload(upload.upload_id, record_for(upload, [p1]), [p1])
    assert info.value.code == "InvalidPart"
    assert meta.get_object(upload.bucket_id, "k") is None


def test_abort_frees_parts_and_then_the_id_is_gone(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    parts = [add_part(meta, upload, n) for n in (1, 2)]
    assert meta.abort_upload(upload.upload_id)
    assert not meta.abort_upload(upload.upload_id)
    assert sorted(meta.take_garbage()) == sorted(p.blob_id for p in parts)
    blob = secrets.token_hex(16)
    meta.add_pending_blob(blob)
    with pytest.raises(S3Error) as info:
        meta.put_part(upload.upload_id, Part(3, blob, 1, "00", 0.0))
    assert info.value.code == "NoSuchUpload"
    with pytest.raises(S3Error):
        meta.complete_upload(upload.upload_id, record_for(upload, parts), parts)


def test_delete_bucket_aborts_its_uploads(meta: SqliteMetaStore) -> None:
    upload = new_upload(meta)
    part = add_part(meta, upload, 1)
    meta.delete_bucket(upload.bucket_id)
    assert meta.get_upload(upload.upload_id) is None
    assert meta.take_garbage() == [part.blob_id]


def test_list_uploads_paging_and_prefixes(meta: SqliteMetaStore) -> None:
    made = sorted((u.key, u.upload_id) for u in
                   [new_upload(meta, k) for k in ("a/1", "a/2", "b", "b", "c/x")])  # fmt: skip
    bid = bucket_id(meta)
    page = meta.list_uploads(bid)
    assert [(u.key, u.upload_id) for u in page.uploads] == made
    seen: list[tuple[str, str]] = []
    key_marker = id_marker = ""
    while True:
        page = meta.list_uploads(bid, key_marker=key_marker, upload_id_marker=id_marker,
                                 max_uploads=2)  # fmt: skip
        seen += [(u.key, u.upload_id) for u in page.uploads]
        if not page.is_truncated:
            break
        key_marker, id_marker = page.next_key_marker or "", page.next_upload_id_marker or ""
    assert seen == made
    page = meta.list_uploads(bid, delimiter="/")
    assert page.common_prefixes == ["a/", "c/"]
    assert [u.key for u in page.uploads] == ["b", "b"]
    assert [u.key for u in meta.list_uploads(bid, prefix="a/").uploads] == ["a/1", "a/2"]


def test_startup_sweep_keeps_parts_of_open_uploads(meta: SqliteMetaStore, tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    upload = new_upload(meta)
    writer = blobs.open_writer(blobs.new_blob_id())
    writer.write(b"part")
    writer.commit()
    meta.add_pending_blob(writer.blob_id)
    meta.put_part(upload.upload_id, Part(1, writer.blob_id, 4, "00", 0.0))
    counts = startup_sweep(meta, blobs)
    assert counts["orphans"] == 0
    assert list(blobs.iter_blob_ids()) == [writer.blob_id]


def test_parts_written_before_version_4_are_numbered_by_position(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with closing(database_at(path, 3)) as db:
        db.execute("INSERT INTO users VALUES (1, 'u', 'c', 0)")
        db.execute("INSERT INTO buckets (id, name, owner_id, region, created) "
                   "VALUES (1, 'b', 1, 'r', 0)")  # fmt: skip
        db.execute("INSERT INTO objects (bucket_id, key, blob_id, size, etag, last_modified,"
                   " content_type, system_headers, user_metadata, checksums, storage_class,"
                   " parts_count) VALUES (1, 'k', '', 30, 'e-2', 0, 't', '{}', '{}', '{}',"
                   " 'STANDARD', 2)")  # fmt: skip
        db.executemany("INSERT INTO object_parts VALUES (1, 'k', ?, ?, ?)",
                       [(0, "a" * 32, 10), (1, "b" * 32, 20)])  # fmt: skip
    store = SqliteMetaStore(path)
    try:
        got = store.get_object(1, "k")
        assert got is not None
        assert got.body == PartsBody((Segment("a" * 32, 10, 1), Segment("b" * 32, 20, 2)))
    finally:
        store.close()
