"""The two store calls the console added: per-bucket totals and removing a user."""

from __future__ import annotations

import secrets

import pytest

from oortgate.meta.models import BlobBody, BucketUsage, ObjectRecord
from oortgate.meta.sqlite import SqliteMetaStore


def _put(meta: SqliteMetaStore, bucket_id: int, key: str, size: int, owner: int) -> None:
    blob_id = secrets.token_hex(16)
    record = ObjectRecord(bucket_id, key, BlobBody(blob_id, size), size, "0" * 32, 1.0,
                          owner_id=owner)  # fmt: skip
    meta.add_pending_blob(blob_id)
    meta.put_object(record)


def test_bucket_usage_counts_the_owners_buckets_only(meta: SqliteMetaStore) -> None:
    alice, bob = meta.create_user("alice"), meta.create_user("bob")
    cold = meta.create_bucket("cold", alice.id, "us-east-1", 10, tier="archive")
    hot = meta.create_bucket("hot", alice.id, "us-east-1", 10)
    meta.create_bucket("empty", alice.id, "us-east-1", 10)
    theirs = meta.create_bucket("theirs", bob.id, "us-east-1", 10)
    for i in range(3):
        _put(meta, hot.id, f"k{i}", 100 + i, alice.id)
    _put(meta, cold.id, "a", 7, alice.id)
    _put(meta, theirs.id, "b", 1000, bob.id)
    got = meta.bucket_usage(alice.id)
    assert got == [
        BucketUsage("cold", "archive", cold.created, 1, 7),
        BucketUsage("empty", "standard", got[1].created, 0, 0),
        BucketUsage("hot", "standard", hot.created, 3, 303),
    ]
    assert meta.bucket_usage(9999) == []


def test_delete_user_takes_its_keys_and_refuses_while_it_owns_data(
    meta: SqliteMetaStore,
) -> None:
    alice, bob = meta.create_user("alice"), meta.create_user("bob")
    meta.create_key(alice.id, "AK1", "s" * 40)
    meta.create_key(alice.id, "AK2", "t" * 40)
    meta.create_key(bob.id, "BK1", "u" * 40)
    meta.delete_user(alice.id)
    assert meta.get_user(alice.id) is None
    assert meta.get_key("AK1") is None and meta.get_key("AK2") is None
    assert meta.get_key("BK1") is not None
    bucket = meta.create_bucket("b", bob.id, "us-east-1", 10)
    with pytest.raises(ValueError, match="buckets"):
        meta.delete_user(bob.id)
    carol = meta.create_user("carol")
    _put(meta, bucket.id, "by-carol", 1, carol.id)  # an object in someone else's bucket
    with pytest.raises(ValueError, match="objects"):
        meta.delete_user(carol.id)
    assert meta.get_user(carol.id) is not None
