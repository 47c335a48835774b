"""CreateBucket, HeadBucket, GetBucketLocation, ListBuckets, DeleteBucket."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from botocore.exceptions import ClientError

from ._s3raw import RawClient, error_code
from ._server import ServerProcess
from ._types import ClientFor, MakeBucket, MakeUser, S3Client, UniqueName
from ._util import s3_error, status_of


def test_create_head_delete_bucket(s3: S3Client, unique_name: UniqueName) -> None:
    name = unique_name("cb")
    resp = s3.create_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    head = s3.head_bucket(Bucket=name)
    assert head["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region") == "us-east-1"
    resp = s3.delete_bucket(Bucket=name)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    assert status_of(ei.value) == 404


def test_create_bucket_location_header(s3: S3Client, unique_name: UniqueName) -> None:
    name = unique_name("loc")
    resp = s3.create_bucket(Bucket=name)
    try:
        assert resp.get("Location") == f"/{name}"
    finally:
        s3.delete_bucket(Bucket=name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",  # too short
        "a" * 64,  # too long
        "UpperCase-bucket",
        "under_score-bucket",
        "-starts-with-dash",
        "ends-with-dash-",
        "192.168.5.4",  # IP address
        "two..dots",
        ".starts-with-period",
        "ends-with-period.",
        "amzn-s3-demo-reserved",
        "reserved-suffix.mrap",
        "reserved-suffix--table-s3",
        "xn--punycode-prefix",
        "bucket name",  # space
    ],
)
def test_invalid_bucket_name(raw: RawClient, name: str) -> None:
    # Sent raw: botocore validates some names client-side before they reach the server.
    resp = raw.request("PUT", name)
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "InvalidBucketName", resp.text


@pytest.mark.parametrize("name", ["ab", "UpperCase-bucket", "-start", "a" * 64])
def test_invalid_bucket_name_boto3(s3: S3Client, name: str) -> None:
    with s3_error("InvalidBucketName", 400):
        s3.create_bucket(Bucket=name)


def test_bucket_names_with_periods(
    s3: S3Client, unique_name: UniqueName, server: ServerProcess
) -> None:
    """AWS allows periods (not two adjacent); every operation works on such a bucket."""
    name = "dotted." + unique_name("p") + ".v1.2"
    s3.create_bucket(Bucket=name)
    try:
        s3.put_object(Bucket=name, Key="k", Body=b"dots")
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"dots"
        assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == ["k"]
        assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        s3.copy_object(Bucket=name, Key="c", CopySource={"Bucket": name, "Key": "k"})
        s3.delete_objects(Bucket=name, Delete={"Objects": [{"Key": "k"}, {"Key": "c"}]})
    finally:
        s3.delete_bucket(Bucket=name)


def test_valid_bucket_name_edges(s3: S3Client, unique_name: UniqueName) -> None:
    three = "a1b"
    long63 = unique_name("x") + "-" + "9" * 63
    long63 = long63[:63]
    for name in (long63, "0" + unique_name("d")[1:]):
        s3.create_bucket(Bucket=name)
        s3.head_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)
    # a 3-char name may be taken by a parallel run; both answers prove it was accepted
    try:
        s3.create_bucket(Bucket=three)
        s3.delete_bucket(Bucket=three)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "BucketAlreadyExists"


def test_bucket_already_exists_across_users(
    s3: S3Client, make_user: MakeUser, client_for: ClientFor, make_bucket: MakeBucket
) -> None:
    name = make_bucket()
    other = client_for(*make_user())
    with s3_error("BucketAlreadyExists", 409):
        other.create_bucket(Bucket=name)
    # the original owner still has it
    s3.head_bucket(Bucket=name)


def test_recreate_own_bucket_is_ok_and_keeps_contents(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="keep", Body=b"still here")
    resp = s3.create_bucket(Bucket=bucket)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="keep")["Body"].read() == b"still here"


def test_too_many_buckets(
    make_user: MakeUser, client_for: ClientFor, unique_name: UniqueName
) -> None:
    c = client_for(*make_user())
    base = unique_name("many")[:50]
    created = []
    try:
        for i in range(100):
            name = f"{base}-{i:03d}"
            c.create_bucket(Bucket=name)
            created.append(name)
        with s3_error("TooManyBuckets", 400):
            c.create_bucket(Bucket=f"{base}-100")
        assert len(c.list_buckets(MaxBuckets=1000)["Buckets"]) == 100
    finally:
        for name in created:
            with contextlib.suppress(ClientError):
                c.delete_bucket(Bucket=name)
    # after deleting, creating works again
    c.create_bucket(Bucket=f"{base}-again")
    c.delete_bucket(Bucket=f"{base}-again")


def test_location_constraint_mismatch(s3: S3Client, unique_name: UniqueName) -> None:
    name = unique_name("lc")
    with s3_error("IllegalLocationConstraintException", 400):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    assert status_of(ei.value) == 404


def test_location_constraint_garbage(raw: RawClient, unique_name: UniqueName) -> None:
    name = unique_name("lcg")
    body = (
        b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        b"<LocationConstraint>not-a-region</LocationConstraint></CreateBucketConfiguration>"
    )
    resp = raw.request("PUT", name, body=body)
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) in (
        "InvalidLocationConstraint",
        "IllegalLocationConstraintException",
    ), resp.text
    assert raw.request("HEAD", name).status_code == 404


def test_create_bucket_malformed_configuration(raw: RawClient, unique_name: UniqueName) -> None:
    name = unique_name("mx")
    resp = raw.request("PUT", name, body=b"<CreateBucketConfiguration><Locat")
    assert resp.status_code == 400, resp.text
    assert error_code(resp.content) == "MalformedXML", resp.text
    assert raw.request("HEAD", name).status_code == 404


def test_get_bucket_location(s3: S3Client, bucket: str) -> None:
    resp = s3.get_bucket_location(Bucket=bucket)
    # us-east-1 is reported as an empty LocationConstraint, as AWS does
    assert resp.get("LocationConstraint") in (None, "")


def test_get_bucket_location_missing(s3: S3Client, unique_name: UniqueName) -> None:
    with s3_error("NoSuchBucket", 404):
        s3.get_bucket_location(Bucket=unique_name("nope"))


def test_head_bucket_missing_is_bare_404(
    s3: S3Client, raw: RawClient, unique_name: UniqueName
) -> None:
    name = unique_name("nope")
    with pytest.raises(ClientError) as ei:
        s3.head_bucket(Bucket=name)
    assert status_of(ei.value) == 404
    resp = raw.request("HEAD", name)
    assert resp.status_code == 404
    assert resp.content == b""


def test_list_buckets_owner_and_dates(s3: S3Client, bucket: str) -> None:
    resp = s3.list_buckets()
    names = [b["Name"] for b in resp["Buckets"]]
    assert bucket in names
    assert resp["Owner"]["DisplayName"] == "root"
    assert resp["Owner"].get("ID")
    entry = next(b for b in resp["Buckets"] if b["Name"] == bucket)
    now = dt.datetime.now(dt.UTC)
    assert abs((now - entry["CreationDate"]).total_seconds()) < 300
    assert names == sorted(names)


def test_list_buckets_owner_of_user(
    make_user: MakeUser, client_for: ClientFor, unique_name: UniqueName
) -> None:
    user = make_user()
    c = client_for(*user)
    name = unique_name("own")
    c.create_bucket(Bucket=name)
    try:
        resp = c.list_buckets()
        assert [b["Name"] for b in resp["Buckets"]] == [name]
        assert resp["Owner"]["DisplayName"] == user.name
        if user.canonical_id:
            assert resp["Owner"]["ID"] == user.canonical_id
    finally:
        c.delete_bucket(Bucket=name)


def test_list_buckets_paging_and_prefix(
    make_user: MakeUser, client_for: ClientFor, unique_name: UniqueName
) -> None:
    c = client_for(*make_user())
    stem = unique_name("pg")[:40]
    names = sorted([f"{stem}-a-{i}" for i in range(5)] + [f"{stem}-b-{i}" for i in range(3)])
    for n in names:
        c.create_bucket(Bucket=n)
    try:
        # paging through everything, 3 at a time
        seen, token, pages = [], None, 0
        while True:
            kw = {"MaxBuckets": 3}
            if token:
                kw["ContinuationToken"] = token
            resp = c.list_buckets(**kw)
            pages += 1
            got = [b["Name"] for b in resp["Buckets"]]
            assert len(got) <= 3
            seen += got
            token = resp.get("ContinuationToken")
            if not token:
                break
            assert pages < 10
        assert seen == names
        assert pages == 3

        # prefix filter
        resp = c.list_buckets(Prefix=f"{stem}-a-")
        assert [b["Name"] for b in resp["Buckets"]] == [n for n in names if "-a-" in n]
        assert resp.get("Prefix") == f"{stem}-a-"
        assert not resp.get("ContinuationToken")

        # prefix + paging
        resp = c.list_buckets(Prefix=f"{stem}-b-", MaxBuckets=2)
        assert [b["Name"] for b in resp["Buckets"]] == [f"{stem}-b-0", f"{stem}-b-1"]
        resp2 = c.list_buckets(
            Prefix=f"{stem}-b-", MaxBuckets=2, ContinuationToken=resp["ContinuationToken"]
        )
        assert [b["Name"] for b in resp2["Buckets"]] == [f"{stem}-b-2"]
        assert not resp2.get("ContinuationToken")

        # no match
        assert c.list_buckets(Prefix="zzz-no-such-prefix")["Buckets"] == []
    finally:
        for n in names:
            c.delete_bucket(Bucket=n)


def test_delete_bucket_not_empty(s3: S3Client, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="x", Body=b"1")
    with s3_error("BucketNotEmpty", 409):
        s3.delete_bucket(Bucket=bucket)
    s3.head_bucket(Bucket=bucket)
    s3.delete_object(Bucket=bucket, Key="x")
    s3.delete_bucket(Bucket=bucket)


def test_delete_missing_bucket(s3: S3Client, unique_name: UniqueName) -> None:
    with s3_error("NoSuchBucket", 404):
        s3.delete_bucket(Bucket=unique_name("gone"))


def test_operations_on_missing_bucket(s3: S3Client, unique_name: UniqueName) -> None:
    name = unique_name("gone")
    with s3_error("NoSuchBucket", 404):
        s3.put_object(Bucket=name, Key="k", Body=b"x")
    with s3_error("NoSuchBucket", 404):
        s3.get_object(Bucket=name, Key="k")
    with s3_error("NoSuchBucket", 404):
        s3.list_objects_v2(Bucket=name)
    with s3_error("NoSuchBucket", 404):
        s3.list_objects(Bucket=name)
