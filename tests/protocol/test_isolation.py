"""Two users cannot see or touch each other's buckets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from ._server import ServerProcess
from ._types import ClientFor, MakeUser, S3Client, UniqueName, UserKeys
from ._util import s3_error, status_of

# (alice, bob, her bucket, his bucket, her keys, his keys)
TwoUsers = tuple[S3Client, S3Client, str, str, UserKeys, UserKeys]


@pytest.fixture
def two_users(
    make_user: MakeUser, client_for: ClientFor, unique_name: UniqueName
) -> Iterator[TwoUsers]:
    ua, ub = make_user(), make_user()
    a, b = client_for(*ua), client_for(*ub)
    ba, bb = unique_name("iso-a"), unique_name("iso-b")
    a.create_bucket(Bucket=ba)
    b.create_bucket(Bucket=bb)
    a.put_object(Bucket=ba, Key="secret", Body=b"alice's data", Metadata={"o": "a"})
    b.put_object(Bucket=bb, Key="mine", Body=b"bob's data")
    yield a, b, ba, bb, ua, ub
    for c, name in ((a, ba), (b, bb)):
        try:
            for o in c.list_objects_v2(Bucket=name).get("Contents", []):
                c.delete_object(Bucket=name, Key=o["Key"])
            c.delete_bucket(Bucket=name)
        except ClientError:
            pass


def _assert_a_intact(a: S3Client, ba: str) -> None:
    got = a.get_object(Bucket=ba, Key="secret")
    assert got["Body"].read() == b"alice's data"
    assert got["Metadata"] == {"o": "a"}
    assert [o["Key"] for o in a.list_objects_v2(Bucket=ba)["Contents"]] == ["secret"]


def test_list_buckets_shows_only_own(two_users: TwoUsers, s3: S3Client) -> None:
    a, b, ba, bb, ua, ub = two_users
    ra, rb = a.list_buckets(), b.list_buckets()
    assert [x["Name"] for x in ra["Buckets"]] == [ba]
    assert [x["Name"] for x in rb["Buckets"]] == [bb]
    assert ra["Owner"]["DisplayName"] == ua.name
    assert rb["Owner"]["DisplayName"] == ub.name
    assert ra["Owner"]["ID"] != rb["Owner"]["ID"]
    root_names = [x["Name"] for x in s3.list_buckets()["Buckets"]]
    assert ba not in root_names and bb not in root_names


@pytest.mark.parametrize(
    "op",
    [
        "get_object",
        "head_object",
        "put_object",
        "delete_object",
        "list_objects",
        "list_objects_v2",
        "list_object_versions",
        "delete_objects",
        "delete_bucket",
        "get_bucket_location",
        "get_bucket_versioning",
        "copy_from",
        "copy_into",
    ],
)
def test_other_user_is_denied(two_users: TwoUsers, op: str) -> None:
    a, b, ba, bb, *_ = two_users
    calls = {
        "get_object": lambda: b.get_object(Bucket=ba, Key="secret"),
        "head_object": lambda: b.head_object(Bucket=ba, Key="secret"),
        "put_object": lambda: b.put_object(Bucket=ba, Key="secret", Body=b"overwritten"),
        "delete_object": lambda: b.delete_object(Bucket=ba, Key="secret"),
        "list_objects": lambda: b.list_objects(Bucket=ba),
        "list_objects_v2": lambda: b.list_objects_v2(Bucket=ba),
        "list_object_versions": lambda: b.list_object_versions(Bucket=ba),
        "delete_objects": lambda: b.delete_objects(
            Bucket=ba, Delete={"Objects": [{"Key": "secret"}]}
        ),
        "delete_bucket": lambda: b.delete_bucket(Bucket=ba),
        "get_bucket_location": lambda: b.get_bucket_location(Bucket=ba),
        "get_bucket_versioning": lambda: b.get_bucket_versioning(Bucket=ba),
        "copy_from": lambda: b.copy_object(
            Bucket=bb, Key="stolen", CopySource={"Bucket": ba, "Key": "secret"}
        ),
        "copy_into": lambda: b.copy_object(
            Bucket=ba, Key="planted", CopySource={"Bucket": bb, "Key": "mine"}
        ),
    }
    if op == "head_object":
        with pytest.raises(ClientError) as ei:
            calls[op]()
        assert status_of(ei.value) == 403
    else:
        with s3_error("AccessDenied", 403):
            calls[op]()
    _assert_a_intact(a, ba)
    assert [o["Key"] for o in b.list_objects_v2(Bucket=bb)["Contents"]] == ["mine"]


def test_head_bucket_of_other_user_is_403(two_users: TwoUsers) -> None:
    _a, b, ba, *_ = two_users
    with pytest.raises(ClientError) as ei:
        b.head_bucket(Bucket=ba)
    assert status_of(ei.value) == 403


def test_create_other_users_bucket(two_users: TwoUsers) -> None:
    a, b, ba, *_ = two_users
    with s3_error("BucketAlreadyExists", 409):
        b.create_bucket(Bucket=ba)
    _assert_a_intact(a, ba)


def test_presigned_by_other_user_denied(two_users: TwoUsers, server: ServerProcess) -> None:
    import requests

    from ._s3raw import error_code

    _a, b, ba, *_ = two_users
    url = b.generate_presigned_url("get_object", Params={"Bucket": ba, "Key": "secret"})
    resp = requests.get(url, verify=server.cert)
    assert resp.status_code == 403
    assert error_code(resp.content) == "AccessDenied"


def test_users_keys_are_separate(server: ServerProcess, two_users: TwoUsers) -> None:
    _a, _b, _ba, _bb, ua, ub = two_users
    out = server.admin("key", "list", ua.name).stdout
    assert ua.access_key in out
    assert ub.access_key not in out
    users = server.admin("user", "list").stdout
    assert ua.name in users and ub.name in users
