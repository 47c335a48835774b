"""The versioning part of the MetaStore contract (oortgate.meta.versions): versioned
writes keep the history, delete markers, versions read and removed by id (their blobs
released in the same transaction), the null version of Suspended buckets, and
ListObjectVersions' order, paging and roll-ups."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import pytest

from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, InlineBody, ObjectRecord, PartsBody, Segment
from oortgate.meta.preconditions import Precondition
from oortgate.meta.versions import new_version_id

Drift = Callable[[], list[Any]]


async def _bucket(meta: MetaStore, status: str = "Enabled") -> int:
    user = await meta.get_user_by_name("owner") or await meta.create_user("owner")
    bucket = await meta.create_bucket(f"b{secrets.token_hex(4)}", user.id, "us-east-1", 100)
    await meta.set_bucket_versioning(bucket.id, status)
    return bucket.id


async def _put(meta: MetaStore, bucket_id: int, key: str, version_id: str | None = None,
               size: int = 3, parts: int = 0) -> ObjectRecord:  # fmt: skip
    """A new version (a new id unless given; '' the null one) with a new blob (or
    ``parts`` part blobs)."""
    ids = [secrets.token_hex(16) for _ in range(max(parts, 1))]
    body: Any = BlobBody(ids[0], size)
    if parts:
        body = PartsBody(tuple(Segment(b, size, i + 1) for i, b in enumerate(ids)))
    vid = new_version_id() if version_id is None else version_id
    record = ObjectRecord(bucket_id, key, body, size * max(parts, 1), "0" * 32, 1.5,
                          version_id=vid)  # fmt: skip
    for blob_id in ids:
        await meta.add_pending_blob(blob_id)
    await meta.put_object(record, None, True)
    return record


async def _versions(meta: MetaStore, bucket_id: int, **kw: Any) -> list[tuple[str, str, bool]]:
    page = await meta.list_object_versions(bucket_id, **kw)
    return [(r.key, r.version_id, latest) for r, latest in page.versions]


async def test_versioning_status_is_kept(meta: MetaStore) -> None:
    user = await meta.create_user("owner")
    bucket = await meta.create_bucket("vb", user.id, "us-east-1", 100)
    assert bucket.versioning is None
    for status in ("Enabled", "Suspended"):
        await meta.set_bucket_versioning(bucket.id, status)
        await meta.refresh()
        got = await meta.get_bucket("vb")
        assert got is not None and got.versioning == status


async def test_versioned_writes_keep_every_version(meta: MetaStore, drift: Drift) -> None:
    bucket_id = await _bucket(meta)
    v1 = await _put(meta, bucket_id, "k")
    v2 = await _put(meta, bucket_id, "k", size=4, parts=2)
    v3 = await _put(meta, bucket_id, "k", size=5)
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.version_id == v3.version_id
    assert current.body == v3.body
    for version in (v1, v2, v3):
        got = await meta.get_object_version(bucket_id, "k", version.version_id)
        assert got is not None and got.body == version.body and not got.delete_marker
    assert await meta.take_garbage() == []  # every blob still has its version
    assert await _versions(meta, bucket_id) == [("k", v3.version_id, True),
                                                ("k", v2.version_id, False),
                                                ("k", v1.version_id, False)]  # fmt: skip
    assert drift() == []
    listed = await meta.list_objects(bucket_id)
    assert [o.key for o in listed.objects] == ["k"]


async def test_delete_version_releases_its_blobs_and_promotes(
    meta: MetaStore, drift: Drift
) -> None:
    bucket_id = await _bucket(meta)
    v1 = await _put(meta, bucket_id, "k", parts=2)
    v2 = await _put(meta, bucket_id, "k")
    assert await meta.delete_version(bucket_id, "k", v1.version_id) is False
    assert set(await meta.take_garbage()) == set(v1.blob_ids)
    assert await meta.delete_version(bucket_id, "k", v1.version_id) is None  # gone already
    v3 = await _put(meta, bucket_id, "k", parts=3)
    assert await meta.delete_version(bucket_id, "k", v3.version_id) is False  # the current
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.version_id == v2.version_id
    assert current.body == v2.body  # promoted back, with its blob
    assert drift() == []
    await meta.take_garbage()  # claimed: the rows go with the claim
    assert await meta.delete_version(bucket_id, "k", v2.version_id) is False
    assert await meta.get_object(bucket_id, "k") is None
    assert not await meta.has_objects(bucket_id)
    assert set(await meta.take_garbage()) == set(v2.blob_ids)


async def test_delete_markers(meta: MetaStore, drift: Drift) -> None:
    bucket_id = await _bucket(meta)
    v1 = await _put(meta, bucket_id, "k")
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "k", marker, None)
    assert await meta.get_object(bucket_id, "k") is None
    latest = await meta.current_delete_marker(bucket_id, "k")
    assert latest is not None and latest.version_id == marker and latest.delete_marker
    got = await meta.get_object_version(bucket_id, "k", marker)
    assert got is not None and got.delete_marker and got.body is None
    assert await meta.take_garbage() == []
    assert [o.key for o in (await meta.list_objects(bucket_id)).objects] == []
    assert await _versions(meta, bucket_id) == [("k", marker, True), ("k", v1.version_id, False)]
    assert await meta.has_objects(bucket_id)
    with pytest.raises(S3Error) as err:
        await meta.delete_bucket(bucket_id)
    assert err.value.code == "BucketNotEmpty"
    assert await meta.delete_version(bucket_id, "k", marker) is True
    current = await meta.get_object(bucket_id, "k")
    assert current is not None and current.version_id == v1.version_id
    assert await meta.current_delete_marker(bucket_id, "k") is None
    assert drift() == []


async def test_marker_condition_applies_to_the_current_version(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    await _put(meta, bucket_id, "k")
    with pytest.raises(S3Error) as err:
        await meta.add_delete_marker(bucket_id, "k", new_version_id(), None,
                                     Precondition(if_match=frozenset({"f" * 32})))  # fmt: skip
    assert err.value.code == "PreconditionFailed"
    assert await meta.get_object(bucket_id, "k") is not None
    await meta.add_delete_marker(bucket_id, "k", new_version_id(), None)
    record = ObjectRecord(bucket_id, "k", InlineBody(b"x"), 1, "0" * 32, 1.5,
                          version_id=new_version_id())  # fmt: skip
    with pytest.raises(S3Error) as err:  # a delete marker is no current version
        await meta.put_object(record, Precondition(if_match=frozenset({"*"})), True)
    assert err.value.code == "NoSuchKey"
    await meta.put_object(record, Precondition(if_none_match=True), True)
    assert await meta.get_object(bucket_id, "k") is not None


async def test_the_null_version_is_replaced(meta: MetaStore, drift: Drift) -> None:
    bucket_id = await _bucket(meta, "Suspended")
    first = await _put(meta, bucket_id, "k", "")
    second = await _put(meta, bucket_id, "k", "")
    assert set(await meta.take_garbage()) == set(first.blob_ids)  # replaced, not kept
    await meta.set_bucket_versioning(bucket_id, "Enabled")
    v3 = await _put(meta, bucket_id, "k")
    await meta.set_bucket_versioning(bucket_id, "Suspended")
    fourth = await _put(meta, bucket_id, "k", "")  # replaces the noncurrent null version
    assert set(await meta.take_garbage()) == set(second.blob_ids)  # first was claimed above
    assert await _versions(meta, bucket_id) == [("k", "", True), ("k", v3.version_id, False)]
    got = await meta.get_object_version(bucket_id, "k", "")
    assert got is not None and got.body == fourth.body
    await meta.add_delete_marker(bucket_id, "k", "", None)  # a null marker replaces it too
    assert await _versions(meta, bucket_id) == [("k", "", True), ("k", v3.version_id, False)]
    assert set(fourth.blob_ids) <= set(await meta.take_garbage())
    assert drift() == []


async def test_inline_versions_share_their_bytes(meta: MetaStore, drift: Drift) -> None:
    bucket_id = await _bucket(meta)
    first = ObjectRecord(bucket_id, "k", InlineBody(b"one"), 3, "0" * 32, 1.5,
                         version_id=new_version_id())  # fmt: skip
    await meta.put_object(first, None, True)
    second = ObjectRecord(bucket_id, "k", InlineBody(b"two"), 3, "1" * 32, 1.5,
                          version_id=new_version_id())  # fmt: skip
    await meta.put_object(second, None, True)
    old = await meta.get_object_version(bucket_id, "k", first.version_id)
    assert old is not None and isinstance(old.body, InlineBody) and old.body.data == b"one"
    assert drift() == []
    assert await meta.delete_version(bucket_id, "k", second.version_id) is False
    now = await meta.get_object(bucket_id, "k")
    assert now is not None and isinstance(now.body, InlineBody) and now.body.data == b"one"


async def test_tags_and_acl_of_one_version(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    v1 = await _put(meta, bucket_id, "k")
    v2 = await _put(meta, bucket_id, "k")
    assert await meta.set_object_tags(bucket_id, "k", {"a": "1"}, v1.version_id)
    assert await meta.set_object_acl(bucket_id, "k", "public-read", v2.version_id)
    old = await meta.get_object_version(bucket_id, "k", v1.version_id)
    current = await meta.get_object(bucket_id, "k")
    assert old is not None and current is not None
    assert (old.tags, old.acl) == ({"a": "1"}, "private")
    assert (current.tags, current.acl) == ({}, "public-read")
    assert not await meta.set_object_tags(bucket_id, "k", {"a": "1"}, new_version_id())
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "k", marker, None)
    assert not await meta.set_object_acl(bucket_id, "k", "private", marker)


async def test_listing_versions_in_order_pages_and_prefixes(meta: MetaStore) -> None:
    bucket_id = await _bucket(meta)
    ids: dict[str, list[str]] = {}
    for key in ("a", "d/1", "d/2", "z"):
        ids[key] = [(await _put(meta, bucket_id, key)).version_id for _ in range(3)]
    marker = new_version_id()
    await meta.add_delete_marker(bucket_id, "z", marker, None)
    expected = []
    for key in ("a", "d/1", "d/2"):
        expected += [(key, v, i == 0) for i, v in enumerate(reversed(ids[key]))]
    expected += [("z", marker, True)] + [("z", v, False) for v in reversed(ids["z"])]
    assert await _versions(meta, bucket_id) == expected
    for size in (1, 2, 5):
        walked: list[tuple[str, str, bool]] = []
        key_marker, version_marker = "", None
        while True:
            page = await meta.list_object_versions(bucket_id, key_marker=key_marker,
                                                   version_id_marker=version_marker,
                                                   max_keys=size)  # fmt: skip
            walked += [(r.key, r.version_id, latest) for r, latest in page.versions]
            assert len(page.versions) <= size
            if not page.is_truncated:
                break
            assert page.next_key_marker is not None
            key_marker, version_marker = page.next_key_marker, page.next_version_id_marker
        assert walked == expected
    page = await meta.list_object_versions(bucket_id, delimiter="/")
    assert page.common_prefixes == ["d/"]
    assert [r.key for r, _ in page.versions] == ["a"] * 3 + ["z"] * 4
    page = await meta.list_object_versions(bucket_id, delimiter="/", max_keys=4)
    assert page.common_prefixes == ["d/"] and page.is_truncated
    assert (page.next_key_marker, page.next_version_id_marker) == ("d/", None)
    rest = await meta.list_object_versions(bucket_id, delimiter="/", key_marker="d/")
    assert [r.key for r, _ in rest.versions] == ["z"] * 4 and rest.common_prefixes == []
    assert await _versions(meta, bucket_id, prefix="d/", key_marker="d/1") == expected[6:9]
    with pytest.raises(S3Error) as err:
        await meta.list_object_versions(bucket_id, key_marker="a",
                                        version_id_marker=new_version_id())  # fmt: skip
    assert err.value.code == "InvalidArgument"
    assert (await meta.list_object_versions(bucket_id, max_keys=0)).versions == []


async def test_racing_versioned_writers_lose_nothing(
    meta: MetaStore, peer: MetaStore, drift: Drift
) -> None:
    """Two gateways writing versions and markers of one key at once: every version
    written is kept once, the counts stay exact."""
    bucket_id = await _bucket(meta)
    await peer.refresh()

    async def writes(store: MetaStore, n: int) -> list[str]:
        made = []
        for i in range(n):
            if i % 4 == 3:
                marker = new_version_id()
                await store.add_delete_marker(bucket_id, "k", marker, None)
                made.append(marker)
            else:
                made.append((await _put(store, bucket_id, "k", size=i + 1)).version_id)
        return made

    ours, theirs = await asyncio.gather(writes(meta, 12), writes(peer, 12))
    listed = await _versions(meta, bucket_id)
    assert sorted(v for _, v, _ in listed) == sorted(ours + theirs)
    assert [latest for _, _, latest in listed] == [True] + [False] * 23
    assert drift() == []
    assert await meta.take_garbage() == []
