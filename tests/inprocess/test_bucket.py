"""ops/bucket.py: CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation/Versioning."""

from __future__ import annotations

import json

import pytest

from ._client import Client, Harness

OTHER_REGION = (
    b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
    b"</CreateBucketConfiguration>"
)


def test_create_bucket_stores_it_for_the_caller(harness: Harness, owner: Client) -> None:
    reply = owner.request("PUT", "/fresh")
    assert reply.status == 200
    assert reply.headers["location"] == "/fresh"
    made = harness.get_bucket("fresh")
    assert made is not None and owner.user is not None
    assert made.owner_id == owner.user.id
    assert made.region == "us-east-1"


def test_create_bucket_with_a_lock_is_one_write(
    harness: Harness, owner: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """x-amz-bucket-object-lock-enabled: the lock and versioning are in the bucket's first
    write. A store that fails every later write (the process dying right after it)
    leaves a locked bucket, never an unlocked one (as two writes did)."""

    async def dead(*args: object) -> None:
        raise OSError("the store went away after the bucket's first write")

    monkeypatch.setattr(harness.meta, "set_bucket_object_lock", dead)
    monkeypatch.setattr(harness.meta, "set_bucket_versioning", dead)
    headers = {"x-amz-bucket-object-lock-enabled": "true"}
    assert owner.request("PUT", "/locked", headers=headers).status == 200
    made = harness.get_bucket("locked")
    assert made is not None and made.versioning == "Enabled"
    assert made.object_lock is not None and json.loads(made.object_lock)["enabled"] is True
    assert owner.request("PUT", "/plain").status == 200
    plain = harness.get_bucket("plain")
    assert plain is not None and (plain.versioning, plain.object_lock) == (None, None)


@pytest.mark.parametrize("name", ["ab", "UPPER", "a..b", "192.168.1.1", "xn--abc", "b-s3alias"])
def test_create_bucket_refuses_invalid_names(harness: Harness, owner: Client, name: str) -> None:
    assert owner.request("PUT", f"/{name}").error == (400, "InvalidBucketName")
    assert harness.get_bucket(name.lower()) is None


def test_create_bucket_of_another_owners_name(owner: Client, other: Client, bucket: str) -> None:
    assert other.request("PUT", f"/{bucket}").error == (409, "BucketAlreadyExists")
    assert owner.request("PUT", f"/{bucket}").status == 200  # us-east-1: yours again is 200


def test_create_bucket_in_another_region_is_refused(harness: Harness, owner: Client) -> None:
    reply = owner.request("PUT", "/elsewhere", body=OTHER_REGION)
    assert reply.error == (400, "IllegalLocationConstraintException")
    assert harness.get_bucket("elsewhere") is None


def test_create_bucket_needs_a_signed_caller(anon: Client) -> None:
    assert anon.request("PUT", "/fresh").error == (403, "AccessDenied")


def test_create_bucket_past_the_quota(tmp_path_factory: pytest.TempPathFactory) -> None:
    harness = Harness(tmp_path_factory.mktemp("quota"), max_buckets_per_user=1)
    try:
        user = harness.user("u")
        assert user.request("PUT", "/first").status == 200
        assert user.request("PUT", "/second").error == (400, "TooManyBuckets")
    finally:
        harness.close()


def test_delete_bucket(harness: Harness, owner: Client, bucket: str) -> None:
    assert owner.request("DELETE", f"/{bucket}").status == 204
    assert harness.get_bucket(bucket) is None
    assert owner.request("DELETE", f"/{bucket}").error == (404, "NoSuchBucket")


def test_delete_bucket_that_holds_objects(harness: Harness, owner: Client, bucket: str) -> None:
    assert owner.put(bucket, "k").status == 200
    assert owner.request("DELETE", f"/{bucket}").error == (409, "BucketNotEmpty")
    assert harness.get_bucket(bucket) is not None


def test_delete_bucket_by_another_user(other: Client, bucket: str) -> None:
    assert other.request("DELETE", f"/{bucket}").error == (403, "AccessDenied")


def test_head_bucket(owner: Client, other: Client, bucket: str) -> None:
    reply = owner.request("HEAD", f"/{bucket}")
    assert reply.status == 200
    assert reply.headers["x-amz-bucket-region"] == "us-east-1"
    assert reply.body == b""
    assert owner.request("HEAD", "/missing").status == 404
    assert other.request("HEAD", f"/{bucket}").status == 403


def test_location_and_versioning(owner: Client, other: Client, bucket: str) -> None:
    location = owner.request("GET", f"/{bucket}", "location")
    assert location.status == 200
    assert location.xml().tag == "LocationConstraint"
    versioning = owner.request("GET", f"/{bucket}", "versioning")
    assert versioning.status == 200
    assert versioning.xml().tag == "VersioningConfiguration"
    assert versioning.xml().findtext("Status") is None  # never enabled
    assert other.request("GET", f"/{bucket}", "location").error == (403, "AccessDenied")
