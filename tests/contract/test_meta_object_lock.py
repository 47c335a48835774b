"""The object lock part of the MetaStore contract (oortgate.meta.object_lock): a bucket's
lock configuration, a version's retention and legal hold (written with the version or
set later), and the refusals: a held or retained version cannot be deleted, GOVERNANCE
gives way to a bypass, COMPLIANCE to nothing; its lock goes with a deleted version."""

from __future__ import annotations

import secrets
import time

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, ObjectLock, ObjectRecord, Upload
from oortgate.meta.versions import new_version_id

_FUTURE = time.time() + 86400
_PAST = time.time() - 86400


async def _bucket(meta: MetaStore) -> int:
    user = await meta.get_user_by_name("owner") or await meta.create_user("owner")
    bucket = await meta.create_bucket(f"b{secrets.token_hex(4)}", user.id, "us-east-1", 100)
    await meta.set_bucket_object_lock(bucket.id, '{"enabled": true}')
    return bucket.id


async def _put(meta: MetaStore, bucket_id: int, key: str, lock: ObjectLock | None = None) -> str:
    blob_id = secrets.token_hex(16)
    record = ObjectRecord(bucket_id, key, BlobBody(blob_id, 3), 3, "0" * 32, 1.5,
                          version_id=new_version_id(), lock=lock)  # fmt: skip
    await meta.add_pending_blob(blob_id)
    await meta.put_object(record, None, True)
    return record.version_id


async def _denied(meta: MetaStore, bucket_id: int, key: str, vid: str, bypass: bool) -> None:
    with pytest.raises(S3Error) as err:
        await meta.delete_version(bucket_id, key, vid, bypass)
    assert err.value.code == "AccessDenied"
    got = await meta.get_object_version(bucket_id, key, vid)
    assert got is not None  # nothing was removed


async def test_lock_config_enables_versioning(meta: MetaStore) -> None:
    user = await meta.create_user("owner")
    bucket = await meta.create_bucket("lb", user.id, "us-east-1", 100)
    assert bucket.object_lock is None
    await meta.set_bucket_object_lock(bucket.id, '{"enabled": true}')
    await meta.refresh()
    got = await meta.get_bucket("lb")
    assert got is not None
    assert got.object_lock == '{"enabled": true}' and got.versioning == "Enabled"


async def test_bucket_created_with_its_lock_in_one_write(meta: MetaStore) -> None:
    """CreateBucket with x-amz-bucket-object-lock-enabled is one call: no crash can leave
    the bucket without its lock or its versioning."""
    user = await meta.create_user("owner")
    made = await meta.create_bucket("lb", user.id, "us-east-1", 100, object_lock='{"e": 1}')
    plain = await meta.create_bucket("pb", user.id, "us-east-1", 100)
    assert (made.object_lock, made.versioning) == ('{"e": 1}', "Enabled")
    assert (plain.object_lock, plain.versioning) == (None, None)
    await meta.refresh()
    for stored in (await meta.get_bucket("lb"), *await meta.list_buckets(user.id, "l")):
        assert stored is not None and stored.id == made.id
        assert (stored.object_lock, stored.versioning) == ('{"e": 1}', "Enabled")
    got = await meta.get_bucket("pb")
    assert got is not None and (got.object_lock, got.versioning) == (None, None)


async def test_lock_written_with_the_version(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    lock = ObjectLock("GOVERNANCE", _FUTURE, True)
    vid = await _put(meta, bucket_id, "k", lock)
    assert await meta.get_object_lock(bucket_id, "k", vid) == lock
    plain = await _put(meta, bucket_id, "k")  # the first becomes noncurrent: keeps its lock
    assert await meta.get_object_lock(bucket_id, "k", plain) is None
    assert await meta.get_object_lock(bucket_id, "k", vid) == lock


async def test_legal_hold_blocks_delete_even_with_bypass(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    vid = await _put(meta, bucket_id, "k")
    assert await meta.set_object_legal_hold(bucket_id, "k", vid, True)
    await _denied(meta, bucket_id, "k", vid, bypass=True)
    assert await meta.set_object_legal_hold(bucket_id, "k", vid, False)
    assert await meta.delete_version(bucket_id, "k", vid) is False
    assert await meta.get_object_lock(bucket_id, "k", vid) is None  # went with the version


async def test_governance_gives_way_to_bypass(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    vid = await _put(meta, bucket_id, "k", ObjectLock("GOVERNANCE", _FUTURE))
    await _denied(meta, bucket_id, "k", vid, bypass=False)
    with pytest.raises(S3Error) as err:  # shortening it needs the bypass too
        await meta.set_object_retention(bucket_id, "k", vid, "GOVERNANCE", _FUTURE - 60)
    assert err.value.code == "AccessDenied"
    assert await meta.set_object_retention(bucket_id, "k", vid, "GOVERNANCE", _FUTURE + 60)
    assert await meta.set_object_retention(bucket_id, "k", vid, None, None, True)
    assert await meta.get_object_lock(bucket_id, "k", vid) == ObjectLock()
    assert await meta.set_object_retention(bucket_id, "k", vid, "GOVERNANCE", _FUTURE)
    assert await meta.delete_version(bucket_id, "k", vid, True) is False


async def test_compliance_yields_to_nothing(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    vid = await _put(meta, bucket_id, "k", ObjectLock("COMPLIANCE", _FUTURE))
    await _denied(meta, bucket_id, "k", vid, bypass=True)
    for mode, until in (("COMPLIANCE", _FUTURE - 60), ("GOVERNANCE", _FUTURE), (None, None)):
        with pytest.raises(S3Error) as err:
            await meta.set_object_retention(bucket_id, "k", vid, mode, until, True)
        assert err.value.code == "AccessDenied"
    assert await meta.set_object_retention(bucket_id, "k", vid, "COMPLIANCE", _FUTURE + 60)
    lock = await meta.get_object_lock(bucket_id, "k", vid)
    assert lock == ObjectLock("COMPLIANCE", _FUTURE + 60)


async def test_expired_retention_no_longer_protects(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    vid = await _put(meta, bucket_id, "k", ObjectLock("COMPLIANCE", _PAST))
    assert await meta.set_object_retention(bucket_id, "k", vid, "GOVERNANCE", _PAST)
    assert await meta.delete_version(bucket_id, "k", vid) is False


async def test_no_such_version(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await _put(meta, bucket_id, "k")
    missing = new_version_id()
    assert not await meta.set_object_retention(bucket_id, "k", missing, "GOVERNANCE", _FUTURE)
    assert not await meta.set_object_legal_hold(bucket_id, "k", missing, True)
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "k", marker, None)
    assert not await meta.set_object_legal_hold(bucket_id, "k", marker, True)
    assert await meta.delete_version(bucket_id, "k", marker) is True  # markers never locked


async def test_an_upload_keeps_its_lock(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    lock = ObjectLock("COMPLIANCE", _FUTURE, True)
    await meta.create_upload(Upload("u1", bucket_id, "k", 1.5, lock=lock))
    await meta.create_upload(Upload("u2", bucket_id, "k", 1.5))
    got = await meta.get_upload("u1")
    assert got is not None and got.lock == lock
    plain = await meta.get_upload("u2")
    assert plain is not None and plain.lock is None
    page = await meta.list_uploads(bucket_id)
    assert [u.lock for u in page.uploads] == [lock, None]
