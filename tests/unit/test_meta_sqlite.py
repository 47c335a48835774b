"""SqliteMetaStore against a real SQLite file: users, keys, buckets, objects, listing,
the blob lifecycle and several connections sharing one database."""

from __future__ import annotations

import multiprocessing
import os
import random
import secrets
import sqlite3
import stat
import threading
from pathlib import Path
from typing import Any

import pytest

from oortgate.errors import S3Error
from oortgate.meta import sqlite_schema
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import BlobBody, ObjectPage, ObjectRecord
from oortgate.meta.sqlite import SCHEMA_VERSION, SqliteMetaStore, successor
from tests.unit._sqlite_versions import database_at


def _record(bucket_id: int, key: str, blob_id: str | None = None, **kw: Any) -> ObjectRecord:
    fields: dict[str, Any] = {"size": 3, "etag": "0" * 32, "last_modified": 1.5, **kw}
    body = BlobBody(blob_id or secrets.token_hex(16), fields["size"])
    return ObjectRecord(bucket_id, key, body, **fields)


def _id(record: ObjectRecord) -> str:
    """A plain object's blob id."""
    assert isinstance(record.body, BlobBody), record.body
    return record.body.blob_id


def _put(meta: SqliteMetaStore, bucket_id: int, key: str, **kw: Any) -> ObjectRecord:
    record = _record(bucket_id, key, **kw)
    meta.add_pending_blob(_id(record))
    meta.put_object(record)
    return record


def _bulk(meta: SqliteMetaStore, bucket_id: int, keys: list[str]) -> None:
    """Insert many rows in one transaction (put_object fsyncs each: too slow for 20k)."""
    conn = meta._conn
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO objects (bucket_id, key, blob_id, size, etag, last_modified, content_type,"
        " system_headers, user_metadata, checksums, storage_class)"
        " VALUES (?, ?, ?, 0, '', 0, '', '{}', '{}', '{}', 'STANDARD')",
        [(bucket_id, key, secrets.token_hex(16)) for key in keys],
    )
    conn.execute("COMMIT")


def _entries(page: ObjectPage) -> list[str]:
    return sorted([o.key for o in page.objects] + page.common_prefixes)


# -- store basics ---------------------------------------------------------------------
def test_file_mode_schema_version_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    first = SqliteMetaStore(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first._conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert first._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert first._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert first._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    first.create_user("alice")
    first.close()
    again = SqliteMetaStore(path)
    assert again.get_user_by_name("alice") is not None
    again._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    again.close()
    with pytest.raises(RuntimeError):
        SqliteMetaStore(path)


def test_successor() -> None:
    assert successor("") is None
    assert successor("ab") == "ac"
    assert successor("a\U0010ffff") == "b"
    assert successor("\U0010ffff\U0010ffff") is None
    assert successor("a\ud7ff") == "a\ue000"
    assert successor("a\uffff") == "a\U00010000"


# -- users and keys -------------------------------------------------------------------
def test_users(meta: SqliteMetaStore) -> None:
    alice = meta.create_user("alice")
    bob = meta.create_user("bob")
    assert len(alice.canonical_id) == 64 and int(alice.canonical_id, 16) >= 0
    assert alice.canonical_id != bob.canonical_id
    with pytest.raises(ValueError):
        meta.create_user("alice")
    assert meta.get_user(alice.id) == alice
    assert meta.get_user_by_name("bob") == bob
    assert meta.get_user(9999) is None and meta.get_user_by_name("carol") is None
    assert meta.list_users() == [alice, bob]


def test_user_by_canonical_id(meta: SqliteMetaStore) -> None:
    alice = meta.create_user("alice")
    assert meta.get_user_by_canonical_id(alice.canonical_id) == alice
    assert meta.get_user_by_canonical_id("0" * 64) is None


def test_bucket_ownership_and_public_access_block(meta: SqliteMetaStore) -> None:
    alice = meta.create_user("alice")
    made = meta.create_bucket("b1", alice.id, "us-east-1", 5, ownership="BucketOwnerEnforced")
    assert made == meta.get_bucket("b1")
    assert made.ownership == "BucketOwnerEnforced" and made.public_access_block is None
    meta.set_bucket_ownership(made.id, None)
    meta.set_bucket_public_access_block(made.id, '{"BlockPublicAcls":true}')
    got = meta.get_bucket("b1")
    assert got is not None and got.ownership is None
    assert got.public_access_block == '{"BlockPublicAcls":true}'
    assert meta.list_buckets(alice.id) == [got]


def test_bucket_controls_migration_keeps_buckets(tmp_path: Path) -> None:
    """A database from before the bucket controls opens with none set on its buckets."""
    path = tmp_path / "old.db"
    version = sqlite_schema.MIGRATIONS.index(sqlite_schema._BUCKET_ACCESS_CONTROLS)
    conn = database_at(path, version)
    conn.execute("INSERT INTO users VALUES (1, 'alice', ?, 0)", ("a" * 64,))
    conn.execute("INSERT INTO buckets (name, owner_id, region, created) VALUES ('b1', 1, 'r', 0)")
    conn.close()
    store = SqliteMetaStore(path)
    bucket = store.get_bucket("b1")
    assert bucket is not None and bucket.acl == "private"
    assert bucket.ownership is None and bucket.public_access_block is None
    store.close()


def test_keys_limit_disable_delete(meta: SqliteMetaStore) -> None:
    alice, bob = meta.create_user("alice"), meta.create_user("bob")
    keys = [meta.create_key(alice.id, f"AK{i:02}", f"secret{i}") for i in range(MAX_KEYS_PER_USER)]
    with pytest.raises(ValueError, match="already has"):
        meta.create_key(alice.id, "AK-extra", "s")
    with pytest.raises(ValueError, match="already exists"):
        meta.create_key(bob.id, "AK00", "s")
    with pytest.raises(ValueError, match="no such user"):
        meta.create_key(9999, "AK-nobody", "s")
    bob_key = meta.create_key(bob.id, "BK", "bs")
    assert meta.get_key("AK03") == keys[3] and keys[3].enabled
    assert meta.list_keys(alice.id) == keys
    assert meta.list_keys(bob.id) == [bob_key]
    assert meta.list_keys() == [*keys, bob_key]
    assert meta.set_key_enabled("AK03", False)
    key = meta.get_key("AK03")
    assert key is not None and not key.enabled and key.secret_key == "secret3"
    assert meta.set_key_enabled("AK03", True)
    assert meta.get_key("AK03") == keys[3]
    assert not meta.set_key_enabled("nope", True)
    assert meta.delete_key("AK03") and not meta.delete_key("AK03")
    assert meta.get_key("AK03") is None
    meta.create_key(alice.id, "AK-new", "s")  # the deletion freed a slot


# -- buckets --------------------------------------------------------------------------
def test_bucket_errors(meta: SqliteMetaStore) -> None:
    alice, bob = meta.create_user("alice"), meta.create_user("bob")
    bucket = meta.create_bucket("photos", alice.id, "eu-west-1", 2)
    assert meta.get_bucket("photos") == bucket and bucket.region == "eu-west-1"
    with pytest.raises(S3Error) as err:
        meta.create_bucket("photos", alice.id, "eu-west-1", 2)
    assert err.value.code == "BucketAlreadyOwnedByYou" and err.value.status == 409
    assert err.value.fields == {"BucketName": "photos"}
    with pytest.raises(S3Error) as err:
        meta.create_bucket("photos", bob.id, "eu-west-1", 2)
    assert err.value.code == "BucketAlreadyExists" and err.value.fields == {"BucketName": "photos"}
    meta.create_bucket("videos", alice.id, "eu-west-1", 2)
    with pytest.raises(S3Error) as err:
        meta.create_bucket("music", alice.id, "eu-west-1", 2)
    assert err.value.code == "TooManyBuckets"
    meta.create_bucket("music", bob.id, "eu-west-1", 2)  # the limit is per owner
    assert meta.get_bucket("nope") is None


def test_list_buckets(meta: SqliteMetaStore) -> None:
    alice, bob = meta.create_user("alice"), meta.create_user("bob")
    names = ["b-2", "a", "b_1", "b", "c", "b%", "ba"]
    for name in names:
        meta.create_bucket(name, alice.id, "r", 100)
    meta.create_bucket("b-bob", bob.id, "r", 100)

    def listed(**kw: object) -> list[str]:
        return [b.name for b in meta.list_buckets(alice.id, **kw)]  # type: ignore[arg-type]

    assert listed() == sorted(names)
    assert listed(prefix="b") == ["b", "b%", "b-2", "b_1", "ba"]
    assert listed(prefix="b_") == ["b_1"] and listed(prefix="b%") == ["b%"]
    assert listed(start_after="b%") == ["b-2", "b_1", "ba", "c"]
    assert listed(prefix="b", start_after="b-2", limit=2) == ["b_1", "ba"]
    assert listed(limit=0) == []
    assert [b.name for b in meta.list_buckets(bob.id)] == ["b-bob"]


def test_delete_bucket(meta: SqliteMetaStore) -> None:
    owner = meta.create_user("o")
    bucket = meta.create_bucket("full", owner.id, "r", 10)
    _put(meta, bucket.id, "k")
    with pytest.raises(S3Error) as err:
        meta.delete_bucket(bucket.id)
    assert err.value.code == "BucketNotEmpty" and err.value.fields == {"BucketName": "full"}
    assert meta.delete_object(bucket.id, "k")
    meta.delete_bucket(bucket.id)
    assert meta.get_bucket("full") is None
    meta.delete_bucket(bucket.id)  # already gone: no-op


# -- objects --------------------------------------------------------------------------
def test_object_round_trip(meta: SqliteMetaStore, bucket_id: int) -> None:
    record = _record(
        bucket_id,
        "dir/ünïcødé 🎉 %_+={}.txt",
        size=12345,
        etag="d41d8cd98f00b204e9800998ecf8427e-3",
        last_modified=1700000000.123456,
        content_type="text/plain; charset=utf-8",
        system_headers={"content-encoding": "gzip", "cache-control": "max-age=60"},
        user_metadata={"émoji": "🎉", "quote": '"x"', "empty": ""},
        checksums={"CRC32": "AAAAAA==", "SHA256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
        storage_class="GLACIER",
    )
    meta.add_pending_blob(_id(record))
    meta.put_object(record)
    assert meta.get_object(bucket_id, record.key) == record
    assert meta.get_object(bucket_id, "dir/") is None
    assert meta.has_objects(bucket_id)
    assert meta.known_blobs([_id(record)]) == {_id(record)}


def test_overwrite_and_delete_queue_garbage(meta: SqliteMetaStore, bucket_id: int) -> None:
    first = _put(meta, bucket_id, "k")
    second = _put(meta, bucket_id, "k", size=99)
    assert meta.get_object(bucket_id, "k") == second
    assert meta.take_garbage() == [_id(first)]
    assert meta.delete_object(bucket_id, "k") and not meta.delete_object(bucket_id, "k")
    assert meta.take_garbage() == [_id(second)]
    assert not meta.has_objects(bucket_id)


def test_delete_objects_in_one_transaction(meta: SqliteMetaStore, bucket_id: int) -> None:
    """Several keys (one missing, one repeated, two sharing a blob) go in one commit."""
    a, b, kept = (_put(meta, bucket_id, key) for key in ("a", "b", "kept"))
    meta.put_object(_record(bucket_id, "a-copy", _id(a)))
    statements: list[str] = []
    meta._conn.set_trace_callback(statements.append)
    meta.delete_objects(bucket_id, ["a", "missing", "b", "a", "a-copy"])
    meta._conn.set_trace_callback(None)
    assert [s for s in statements if s.startswith(("BEGIN", "COMMIT"))] == [
        "BEGIN IMMEDIATE", "COMMIT"
    ]  # fmt: skip
    assert [meta.get_object(bucket_id, k) for k in ("a", "b", "a-copy")] == [None] * 3
    assert meta.get_object(bucket_id, "kept") == kept
    assert sorted(meta.take_garbage()) == sorted([_id(a), _id(b)])


def test_copy_shares_blob(meta: SqliteMetaStore, bucket_id: int) -> None:
    src = _put(meta, bucket_id, "src")
    meta.put_object(_record(bucket_id, "copy", _id(src)))  # referenced, not pending
    meta.put_object(_record(bucket_id, "src", _id(src)))  # copy onto itself
    assert meta.take_garbage() == []
    assert meta.delete_object(bucket_id, "src")
    assert meta.take_garbage() == []  # "copy" still points at it
    _put(meta, bucket_id, "copy")  # overwriting the last reference frees it
    assert meta.take_garbage() == [_id(src)]


def test_put_unknown_blob_is_no_such_key(meta: SqliteMetaStore, bucket_id: int) -> None:
    with pytest.raises(S3Error) as err:
        meta.put_object(_record(bucket_id, "k"))
    assert err.value.code == "NoSuchKey"
    gone = _put(meta, bucket_id, "gone")
    meta.delete_object(bucket_id, "gone")  # now garbage: a late copy must not revive it
    with pytest.raises(S3Error):
        meta.put_object(_record(bucket_id, "late-copy", _id(gone)))
    assert meta.get_object(bucket_id, "late-copy") is None
    assert meta.take_garbage() == [_id(gone)]


def test_put_into_deleted_bucket(meta: SqliteMetaStore, bucket_id: int) -> None:
    meta.delete_bucket(bucket_id)
    record = _record(bucket_id, "k")
    meta.add_pending_blob(_id(record))
    with pytest.raises(S3Error) as err:
        meta.put_object(record)
    assert err.value.code == "NoSuchBucket"
    assert meta.known_blobs([_id(record)]) == {_id(record)}  # still pending
    meta.drop_pending_blob(_id(record))
    assert meta.take_garbage() == [_id(record)]


def test_pending_lifecycle(meta: SqliteMetaStore, bucket_id: int) -> None:
    ids = sorted(secrets.token_hex(16) for _ in range(4))
    for blob_id in ids:
        meta.add_pending_blob(blob_id)
    with pytest.raises(ValueError):
        meta.add_pending_blob(ids[0])
    meta.put_object(_record(bucket_id, "k", ids[0]))
    meta.drop_pending_blob(ids[1])
    meta.drop_pending_blob(ids[0])  # committed: not pending any more, nothing happens
    assert meta.take_garbage() == [ids[1]]  # claimed: its row went with the claim
    assert meta.recover_pending() == 2
    assert meta.take_garbage(limit=1) == [ids[2]]
    assert meta.take_garbage() == [ids[3]]
    assert meta.take_garbage() == []
    assert meta.known_blobs(ids) == {ids[0]}


def test_known_blobs_many(meta: SqliteMetaStore, bucket_id: int) -> None:
    pending = [secrets.token_hex(16) for _ in range(1200)]
    for blob_id in pending[::2]:
        meta.add_pending_blob(blob_id)
    assert meta.known_blobs(pending) == set(pending[::2])
    assert meta.known_blobs([]) == set()


# -- listing --------------------------------------------------------------------------
def _model(keys: list[str], prefix: str, delimiter: str, start_after: str) -> list[str]:
    """What S3 returns, as a plain list of keys and common prefixes in order."""
    out: list[str] = []
    for key in sorted(keys):
        if not key.startswith(prefix) or key <= start_after:
            continue
        cut = key.find(delimiter, len(prefix)) if delimiter else -1
        entry = key if cut < 0 else key[: cut + len(delimiter)]
        if entry > start_after and (not out or out[-1] != entry):
            out.append(entry)
    return out


LISTING_KEYS = ["a/1", "a/2", "a/b/1", "b", "c/1", "c/2", "d", "x/", "x/y"]


@pytest.mark.parametrize(
    ("kw", "objects", "prefixes"),
    [
        ({}, LISTING_KEYS, []),
        ({"delimiter": "/"}, ["b", "d"], ["a/", "c/", "x/"]),
        ({"delimiter": "/", "start_after": "a/"}, ["b", "d"], ["c/", "x/"]),
        ({"delimiter": "/", "start_after": "a/b/1"}, ["b", "d"], ["c/", "x/"]),
        ({"delimiter": "/", "start_after": "a"}, ["b", "d"], ["a/", "c/", "x/"]),
        ({"delimiter": "/", "prefix": "a/"}, ["a/1", "a/2"], ["a/b/"]),
        ({"delimiter": "/", "prefix": "x/"}, ["x/", "x/y"], []),
        ({"delimiter": "/", "prefix": "a"}, [], ["a/"]),
        ({"prefix": "a/", "start_after": "a/2"}, ["a/b/1"], []),
        ({"prefix": "c", "start_after": "0"}, ["c/1", "c/2"], []),
        ({"prefix": "c", "start_after": "z"}, [], []),
        ({"delimiter": "/1"}, ["a/2", "b", "c/2", "d", "x/", "x/y"], ["a/1", "a/b/1", "c/1"]),
    ],
)
def test_listing_cases(
    meta: SqliteMetaStore,
    bucket_id: int,
    kw: dict[str, str],
    objects: list[str],
    prefixes: list[str],
) -> None:
    for key in LISTING_KEYS:
        _put(meta, bucket_id, key)
    page = meta.list_objects(bucket_id, **kw)  # type: ignore[arg-type]
    assert [o.key for o in page.objects] == objects
    assert page.common_prefixes == prefixes
    assert not page.is_truncated and page.next_marker is None


def test_listing_max_keys_boundaries(meta: SqliteMetaStore, bucket_id: int) -> None:
    for key in LISTING_KEYS:
        _put(meta, bucket_id, key)
    page = meta.list_objects(bucket_id, delimiter="/", max_keys=2)
    assert _entries(page) == ["a/", "b"] and page.is_truncated and page.next_marker == "b"
    page = meta.list_objects(bucket_id, delimiter="/", max_keys=3)
    assert page.is_truncated and page.next_marker == "c/"
    page = meta.list_objects(bucket_id, delimiter="/", start_after="c/", max_keys=2)
    assert _entries(page) == ["d", "x/"] and not page.is_truncated and page.next_marker is None
    page = meta.list_objects(bucket_id, delimiter="/", max_keys=5)  # exactly all: no false alarm
    assert len(_entries(page)) == 5 and not page.is_truncated
    page = meta.list_objects(bucket_id, max_keys=len(LISTING_KEYS))
    assert not page.is_truncated
    page = meta.list_objects(bucket_id, max_keys=0)
    assert page == ObjectPage([], [], False, None)
    assert meta.list_objects(bucket_id + 1) == ObjectPage([], [], False, None)


def test_listing_special_characters(meta: SqliteMetaStore, bucket_id: int) -> None:
    keys = ["50%_off/a", "50%Xoff", "50_", "5%", "a_b", "aXb", "é", "z", "\ue000", "\ud7ff"]
    keys += ["\uffff", "\U00010000", "\U0001f600/x", "\U0001f600y", "\U0010ffff", "\U0010ffff/"]
    for key in keys:
        _put(meta, bucket_id, key)
    assert [o.key for o in meta.list_objects(bucket_id).objects] == sorted(
        keys, key=lambda k: k.encode()
    )
    assert [o.key for o in meta.list_objects(bucket_id, prefix="50%_").objects] == ["50%_off/a"]
    assert [o.key for o in meta.list_objects(bucket_id, prefix="a_").objects] == ["a_b"]
    page = meta.list_objects(bucket_id, prefix="\U0001f600", delimiter="/")
    assert [o.key for o in page.objects] == ["\U0001f600y"]
    assert page.common_prefixes == ["\U0001f600/"]
    page = meta.list_objects(bucket_id, prefix="\U0010ffff", delimiter="/")
    assert [o.key for o in page.objects] == ["\U0010ffff"]
    assert page.common_prefixes == ["\U0010ffff/"]
    page = meta.list_objects(bucket_id, delimiter="\U0010ffff")
    assert page.common_prefixes == ["\U0010ffff"]


def test_listing_matches_model_randomly(meta: SqliteMetaStore, bucket_id: int) -> None:
    rng = random.Random(1234)
    alphabet = ["a", "b", "/", "%", "_", "é", "-", "\uffff", "\U0001f600", "\U0010ffff"]
    keys = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 5))) for _ in range(600)})
    _bulk(meta, bucket_id, keys)
    for _ in range(300):
        prefix = rng.choice(["", "", "a", "a/", "/", "\U0001f600", "\U0010ffff", "é%"])
        delimiter = rng.choice(["", "/", "/", "a/", "%_", "\U0010ffff"])
        start_after = rng.choice(["", "", rng.choice(keys), rng.choice(keys)[:2], "a/", "b"])
        max_keys = rng.choice([1, 2, 3, 7, 50, 1000])
        expected = _model(keys, prefix, delimiter, start_after)
        page = meta.list_objects(bucket_id, prefix, delimiter, start_after, max_keys)
        assert _entries(page) == expected[:max_keys], (prefix, delimiter, start_after)
        assert page.is_truncated == (len(expected) > max_keys)
        if page.is_truncated:
            assert page.next_marker == expected[max_keys - 1]


@pytest.mark.parametrize("delimiter", ["", "/"])
def test_paging_through_whole_bucket(meta: SqliteMetaStore, bucket_id: int, delimiter: str) -> None:
    rng = random.Random(7)
    keys = [f"{rng.choice('abc')}/{rng.choice('xyz%_')}{i}/{i % 7}" for i in range(3000)]
    keys += [f"top{i}" for i in range(500)]
    _bulk(meta, bucket_id, keys)
    seen: list[str] = []
    marker, pages = "", 0
    while True:
        page = meta.list_objects(bucket_id, delimiter=delimiter, start_after=marker, max_keys=97)
        seen += [o.key for o in page.objects] + page.common_prefixes
        pages += 1
        if not page.is_truncated:
            break
        assert page.next_marker is not None
        marker = page.next_marker
    assert sorted(seen) == _model(keys, "", delimiter, "")
    assert len(seen) == len(set(seen))
    assert pages == -(-len(seen) // 97)


def test_delimiter_listing_seeks_past_prefixes(meta: SqliteMetaStore, bucket_id: int) -> None:
    _bulk(meta, bucket_id, [f"big/{i:06}" for i in range(20_000)] + ["a", "big0", "c/1", "z"])
    statements: list[str] = []
    steps = [0]

    def count_step() -> int:
        steps[0] += 1
        return 0

    meta._conn.set_trace_callback(statements.append)
    meta._conn.set_progress_handler(count_step, 100)
    page = meta.list_objects(bucket_id, delimiter="/")
    assert [o.key for o in page.objects] == ["a", "big0", "z"]
    assert page.common_prefixes == ["big/", "c/"]
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) <= 4  # one seek per common prefix, plus the first
    assert steps[0] < 30  # < 3,000 VM instructions: the 20,000 "big/" rows were not read
    # The same measure on a scan that does read every row, to show it would notice.
    steps[0] = 0
    meta.list_objects(bucket_id, prefix="big/", max_keys=20_000)
    assert steps[0] > 1000
    meta._conn.set_trace_callback(None)
    meta._conn.set_progress_handler(None, 0)


# -- several connections on one file --------------------------------------------------
def test_two_instances_share_one_file(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    one, two = SqliteMetaStore(path), SqliteMetaStore(path)
    owner = one.create_user("owner")
    bucket = two.create_bucket("shared", owner.id, "r", 10)
    assert one.get_bucket("shared") == bucket
    errors: list[BaseException] = []

    def writer(store: SqliteMetaStore, tag: str) -> None:
        try:
            for i in range(40):
                _put(store, bucket.id, f"{tag}/{i:03}")
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s, t)) for s, t in ((one, "x"), (two, "y"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(one.list_objects(bucket.id).objects) == 80
    assert two.list_objects(bucket.id, delimiter="/").common_prefixes == ["x/", "y/"]
    with pytest.raises(S3Error):
        two.create_bucket("shared", owner.id, "r", 10)
    one.close()
    two.close()


def _child_writes(path: str, bucket_id: int, tag: str) -> None:
    store = SqliteMetaStore(Path(path))
    for i in range(25):
        _put(store, bucket_id, f"{tag}/{i}")
    store.close()


def test_two_processes_write(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    meta = SqliteMetaStore(path)
    owner = meta.create_user("owner")
    bucket = meta.create_bucket("b", owner.id, "r", 10)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child_writes, args=(str(path), bucket.id, t)) for t in "pq"]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert len(meta.list_objects(bucket.id).objects) == 50
    meta.close()


def test_db_is_a_valid_sqlite_file_for_other_tools(tmp_path: Path) -> None:
    path = tmp_path / "meta.db"
    SqliteMetaStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert os.path.getsize(path) > 0


def test_second_connection_in_a_process_keeps_seeing_other_processes(tmp_path: Path) -> None:
    """Opening a second store must not drop the first one's POSIX locks (closing any
    descriptor of the file would): both keep seeing what another process commits."""
    import subprocess
    import sys

    path = tmp_path / "meta.sqlite3"
    first, second = SqliteMetaStore(path), SqliteMetaStore(path)
    writer = (
        "import pathlib, sys; from oortgate.meta.sqlite import SqliteMetaStore as S; "
        "s = S(pathlib.Path(sys.argv[1])); s.create_user(sys.argv[2]); s.close()"
    )
    for name in ("one", "two", "three"):
        subprocess.run([sys.executable, "-c", writer, str(path), name], check=True)
        assert first.get_user_by_name(name) is not None
        assert second.get_user_by_name(name) is not None


def test_credentials_join_key_and_user(tmp_path: Path) -> None:
    meta = SqliteMetaStore(tmp_path / "meta.sqlite3")
    user = meta.create_user("alice")
    key = meta.create_key(user.id, "AKALICE", "secret")
    assert meta.get_credentials("AKALICE") == (key, user)
    assert meta.get_credentials("AKNOBODY") is None
    meta.set_key_enabled("AKALICE", False)
    found = meta.get_credentials("AKALICE")
    assert found is not None and found[0].enabled is False
