"""ops/lifecycle_run.py on a gateway in process: passes page through a bucket (and a
versioned one's versions), stop when their lease is lost (the rest is the next pass's),
and leave an object that changed since the pass saw it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oortgate.lifecycle.rules import Filter, Lifecycle, Rule
from oortgate.ops import lifecycle_run

from ._client import Client, Harness

EXPIRED = Lifecycle((Rule("gone", True, Filter(), expiration_date=0.0),))
ARCHIVED = Lifecycle((Rule("arch", True, Filter(), transition_date=0.0,
                           transition_class="GLACIER_IR"),))  # fmt: skip


def _keys(harness: Harness, bucket: str) -> list[str]:
    b = harness.get_bucket(bucket)
    assert b is not None
    return [o.key for o in harness.run(harness.meta.list_objects(b.id)).objects]


def _rules(harness: Harness, bucket: str, lifecycle: Lifecycle) -> None:
    b = harness.get_bucket(bucket)
    assert b is not None
    harness.run(harness.meta.set_bucket_lifecycle(b.id, lifecycle.dumps()))
    harness.run(harness.meta.refresh())


def test_a_pass_pages_through_the_bucket(harness: Harness, owner: Client, bucket: str) -> None:
    for i in range(5):
        assert owner.put(bucket, f"k{i}", b"x" * i).status == 200
    _rules(harness, bucket, EXPIRED)
    summary = harness.run(lifecycle_run.apply_rules(harness.gateway.services, batch=2))
    assert (summary.buckets, summary.scanned, summary.expired) == (1, 5, 5)
    assert _keys(harness, bucket) == []


def test_a_lost_lease_stops_the_pass(harness: Harness, owner: Client, bucket: str) -> None:
    for i in range(5):
        owner.put(bucket, f"k{i}")
    _rules(harness, bucket, EXPIRED)

    async def lost() -> bool:
        return False

    services = harness.gateway.services
    summary = harness.run(lifecycle_run.apply_rules(services, batch=2, renew=lost))
    assert summary.expired == 2 and _keys(harness, bucket) == ["k2", "k3", "k4"]
    assert harness.run(lifecycle_run.apply_rules(services, batch=2)).expired == 3


def test_an_object_changed_since_it_was_seen_stays(
    harness: Harness, owner: Client, bucket: str
) -> None:
    owner.put(bucket, "k", b"old")
    b = harness.get_bucket(bucket)
    assert b is not None
    seen = harness.run(harness.meta.get_object(b.id, "k"))
    assert seen is not None
    owner.put(bucket, "k", b"new")
    services = harness.gateway.services
    bucket_pass = lifecycle_run._BucketPass(services, b, EXPIRED, 1.0, lifecycle_run.Summary(),
                                            None)  # fmt: skip
    assert not harness.run(bucket_pass._expire(seen))
    assert not harness.run(bucket_pass._transition("k", seen, "GLACIER_IR"))
    assert owner.get(bucket, "k").body == b"new"


def test_a_blob_object_moves_to_the_archive_class(
    harness: Harness, owner: Client, bucket: str
) -> None:
    data = bytes(range(256)) * 600  # a blob, over the 128 KiB transition floor
    owner.put(bucket, "big", data)
    _rules(harness, bucket, ARCHIVED)
    summary = harness.run(lifecycle_run.apply_rules(harness.gateway.services))
    assert summary.transitioned == 1
    got = owner.get(bucket, "big")
    assert got.body == data and got.headers["x-amz-storage-class"] == "GLACIER_IR"
    b = harness.get_bucket(bucket)
    assert b is not None
    record = harness.run(harness.meta.get_object(b.id, "big"))
    assert record is not None and record.blob_ids[0].endswith("z")  # stored compressed


def test_archived_by_a_rule_it_needs_a_restore_where_the_tier_does(tmp_path: Path) -> None:
    glacier = Harness(tmp_path, archive_restore_required=True)
    try:
        owner = glacier.user("owner")
        glacier.bucket(owner, "warm")
        data = b"w" * 140_000  # over the 128 KiB transition floor
        owner.put("warm", "k", data)
        _rules(glacier, "warm", ARCHIVED)
        assert glacier.run(lifecycle_run.apply_rules(glacier.gateway.services)).transitioned == 1
        assert owner.get("warm", "k").error == (403, "InvalidObjectState")
        restore = b"<RestoreRequest><Days>1</Days></RestoreRequest>"
        assert owner.request("POST", "/warm/k", "restore", restore).status == 202
        assert owner.get("warm", "k").body == data
    finally:
        glacier.close()


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_versions_and_lone_markers_across_pages(
    harness: Harness, owner: Client, bucket: str, batch: int
) -> None:
    """A page may end inside a key's versions, or right after its delete marker: the
    pass carries the key on, so every batch size ends the same."""
    b = harness.get_bucket(bucket)
    assert b is not None
    harness.run(harness.meta.set_bucket_versioning(b.id, "Enabled"))
    harness.run(harness.meta.refresh())
    for key, writes in (("a", 2), ("c", 3), ("d", 2)):
        for n in range(writes):
            assert owner.put(bucket, key, str(n).encode()).status == 200
    for key in ("a", "d"):
        assert owner.request("DELETE", f"/{bucket}/{key}").status == 204
    _rules(harness, bucket, Lifecycle((
        Rule("keep1", True, Filter("a"), noncurrent_days=1, newer_noncurrent=1),
        Rule("gone", True, Filter("d"), noncurrent_days=1),
        Rule("markers", True, Filter(), expired_marker=True),
    )))  # fmt: skip
    later = time.time() + 10 * 86400
    services = harness.gateway.services
    summary = harness.run(lifecycle_run.apply_rules(services, now=later, batch=batch))
    assert summary.expired == 4  # a's oldest, d's two and then d's marker
    page = harness.run(harness.meta.list_object_versions(b.id))
    left = [(r.key, r.delete_marker, latest) for r, latest in page.versions]
    assert left == [("a", True, True), ("a", False, False),
                    ("c", False, True), ("c", False, False), ("c", False, False)]  # fmt: skip
    assert harness.run(lifecycle_run.apply_rules(services, now=later, batch=batch)).expired == 0
