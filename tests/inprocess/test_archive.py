"""ops/archive.py: with archive_restore_required, an archived object is read only after
RestoreObject; and archive-tier buckets answer on their own endpoint."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._client import Client, Harness

RESTORE = b"<RestoreRequest><Days>2</Days></RestoreRequest>"


@pytest.fixture
def glacier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    harness = Harness(tmp_path_factory.mktemp("glacier"), archive_restore_required=True)
    yield harness
    harness.close()


@pytest.fixture
def user(glacier: Harness) -> Client:
    user = glacier.user("u")
    glacier.bucket(user, "cold", tier="archive")
    glacier.bucket(user, "warm")
    return user


def test_archived_objects_need_a_restore(user: Client) -> None:
    assert user.put("cold", "k", b"frozen").status == 200
    head = user.request("HEAD", "/cold/k")
    assert head.headers["x-amz-storage-class"] == "GLACIER_IR"
    assert "x-amz-restore" not in head.headers
    assert user.get("cold", "k").error == (403, "InvalidObjectState")
    assert user.request("POST", "/cold/k", "restore", RESTORE).status == 202
    head = user.request("HEAD", "/cold/k")
    assert head.headers["x-amz-restore"].startswith('ongoing-request="false", expiry-date=')
    assert user.get("cold", "k").body == b"frozen"
    assert user.request("POST", "/cold/k", "restore", RESTORE).status == 200  # extended


def test_restore_errors(user: Client) -> None:
    user.put("warm", "k")
    assert user.request("POST", "/warm/k", "restore", RESTORE).error == (
        403, "InvalidObjectState",
    )  # fmt: skip
    user.put("cold", "k")
    bad_days = RESTORE.replace(b"2", b"0")
    assert user.request("POST", "/cold/k", "restore", bad_days).error == (400, "InvalidArgument")
    assert user.request("POST", "/cold/k", "restore", b"<Restore").error == (400, "MalformedXML")
    assert user.request("POST", "/cold/absent", "restore", RESTORE).error == (404, "NoSuchKey")


def test_a_restore_in_progress(tmp_path_factory: pytest.TempPathFactory) -> None:
    slow = Harness(tmp_path_factory.mktemp("slow"), archive_restore_required=True,
                   archive_restore_seconds=3600.0)  # fmt: skip
    try:
        user = slow.user("u")
        slow.bucket(user, "cold", tier="archive")
        user.put("cold", "k")
        assert user.request("POST", "/cold/k", "restore", RESTORE).status == 202
        assert user.request("HEAD", "/cold/k").headers["x-amz-restore"] == 'ongoing-request="true"'
        again = user.request("POST", "/cold/k", "restore", RESTORE)
        assert again.error == (409, "RestoreAlreadyInProgress")
        assert user.get("cold", "k").error == (403, "InvalidObjectState")
    finally:
        slow.close()


def test_a_bucket_answers_on_its_tiers_endpoint(user: Client) -> None:
    user.put("cold", "k", b"x")
    wrong = user.request("HEAD", "/cold/k", headers={"host": "s3-standard.localhost"})
    assert wrong.status == 301
    standard = {"host": "s3-standard.localhost"}
    listed = user.request("GET", "/cold", "list-type=2", headers=standard)
    assert listed.error == (301, "PermanentRedirect")
    right = user.request("GET", "/cold", "list-type=2", headers={"host": "s3-archive.localhost"})
    assert right.status == 200
    assert right.texts("Contents/StorageClass") == ["GLACIER_IR"]
