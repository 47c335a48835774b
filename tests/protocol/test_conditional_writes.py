"""Conditional writes and deletes (If-None-Match: *, If-Match) through boto3, as AWS S3
answers them: PutObject, CopyObject's destination, CompleteMultipartUpload, DeleteObject
and DeleteObjects' per-object ETag; racing writers; a retried Complete; resent parts."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from oortgate.config import Settings

from ._s3raw import UNSIGNED, build_head, error_code, read_response, tls_connect
from ._server import REGION, ServerProcess
from ._util import at_once, body_of, etag, s3_error, status_of, stored_blob_count

PART = 5 * 1024 * 1024
INLINE_MAX = Settings().inline_max_size


def condition_of(info: pytest.ExceptionInfo[ClientError]) -> str | None:
    return cast("str | None", info.value.response["Error"].get("Condition"))


# -- PutObject ------------------------------------------------------------------------
def test_put_if_none_match_creates_once(s3: Any, bucket: str) -> None:
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"first", IfNoneMatch="*")
    assert first["ETag"] == etag(b"first")
    with s3_error("PreconditionFailed", 412) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"second", IfNoneMatch="*")
    assert condition_of(info) == "If-None-Match"
    with s3_error("PreconditionFailed", 412):  # a body stored as a blob file, too
        s3.put_object(Bucket=bucket, Key="k", Body=b"x" * (INLINE_MAX + 1), IfNoneMatch="*")
    assert body_of(s3.get_object(Bucket=bucket, Key="k")) == b"first"


@pytest.mark.parametrize("expect", [{}, {"Expect": "100-continue"}], ids=["plain", "expect"])
def test_a_doomed_put_is_refused_before_its_body(
    s3: Any, server: Any, raw: Any, bucket: str, expect: dict[str, str]
) -> None:
    """Headers announcing 1 GB, no body sent: the 412 comes at once (no 100 Continue)."""
    s3.put_object(Bucket=bucket, Key="taken", Body=b"x")
    url = raw.url(bucket, "taken")
    hdrs = {"Content-Length": str(10**9), "If-None-Match": "*", **expect}
    signed = raw.signed_headers("PUT", url, hdrs, UNSIGNED)
    head = build_head("PUT", url[len(server.endpoint) :], {"Host": server.host, **signed.headers})
    started = time.monotonic()
    with tls_connect(server.port, server.cert, timeout=10) as sock:
        sock.sendall(head)
        status, _, body = read_response(sock, "PUT")
    assert time.monotonic() - started < 5
    assert (status, error_code(body)) == (412, "PreconditionFailed"), body


def test_put_if_match(s3: Any, bucket: str) -> None:
    old = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["ETag"]
    with s3_error("PreconditionFailed", 412) as info:
        s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=etag(b"other"))
    assert condition_of(info) == "If-Match"
    assert body_of(s3.get_object(Bucket=bucket, Key="k")) == b"v1"
    new = s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfMatch=old)["ETag"]
    assert body_of(s3.get_object(Bucket=bucket, Key="k")) == b"v2"
    with s3_error("PreconditionFailed", 412):  # the old ETag is stale now
        s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=old)
    s3.put_object(Bucket=bucket, Key="k", Body=b"v3", IfMatch=new)


def test_put_if_match_on_a_missing_key_is_no_such_key(s3: Any, bucket: str) -> None:
    with s3_error("NoSuchKey", 404):
        s3.put_object(Bucket=bucket, Key="missing", Body=b"x", IfMatch=etag(b"x"))
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="missing")


def test_put_if_none_match_with_an_etag_is_not_implemented(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
    with s3_error("NotImplemented", 501):
        s3.put_object(Bucket=bucket, Key="k", Body=b"v2", IfNoneMatch=etag(b"v1"))
    assert body_of(s3.get_object(Bucket=bucket, Key="k")) == b"v1"


def race_puts(s3: Any, bucket: str, key: str, bodies: list[bytes]) -> list[int]:
    """PUT each body with If-None-Match: * at once: the statuses, sorted."""
    put = functools.partial(s3.put_object, Bucket=bucket, Key=key, IfNoneMatch="*")
    results = at_once(*(functools.partial(put, Body=body) for body in bodies))
    return sorted(status_of(r) if isinstance(r, ClientError) else 200 for r in results)


@pytest.mark.parametrize("size", [10, INLINE_MAX + 1], ids=["inline", "blob"])
def test_racing_if_none_match_puts_one_wins(s3: Any, bucket: str, size: int) -> None:
    """Two writers create the same key at once, 20 times: each time exactly one 200."""
    for round_ in range(20):
        bodies = [bytes([65 + i]) * size for i in range(2)]
        # The loser: 412 if the winner had committed before it came, 409 if both were
        # under way and the winner committed first (what AWS answers each).
        winner, loser = race_puts(s3, bucket, f"lock-{round_}", bodies)
        assert (winner, loser in (409, 412)) == (200, True), round_
        assert body_of(s3.get_object(Bucket=bucket, Key=f"lock-{round_}")) in bodies


def test_a_create_overtaken_while_uploading_is_a_conflict(
    s3: Any, bucket: str, server: ServerProcess
) -> None:
    """If-None-Match: * held when the upload began, and another writer created the key
    before it ended: 409 ConditionalRequestConflict (retry), not 412, and the first
    writer's object stays."""
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "race"})
    data = b"x" * (INLINE_MAX + 100_000)
    started = threading.Event()

    def slowly() -> Iterator[bytes]:
        for start in range(0, len(data), 50_000):
            yield data[start : start + 50_000]
            started.set()
            time.sleep(0.1)

    result: dict[str, requests.Response] = {}
    slow = threading.Thread(target=lambda: result.update(put=requests.put(
        url, data=slowly(), headers={"If-None-Match": "*"}, verify=server.cert, timeout=60
    )))  # fmt: skip
    slow.start()
    assert started.wait(10)
    s3.put_object(Bucket=bucket, Key="race", Body=b"the winner")
    slow.join(60)
    assert result["put"].status_code == 409, result["put"].text
    assert error_code(result["put"].content) == "ConditionalRequestConflict"
    assert body_of(s3.get_object(Bucket=bucket, Key="race")) == b"the winner"


def test_refused_puts_leave_no_blob_behind(tmp_path: Path) -> None:
    """The loser of a race had uploaded its body: its blob is collected like any failed
    write's (no grace period here: what stays on disk is what is needed)."""
    with ServerProcess(data_dir=tmp_path / "data", extra_args=["--gc-grace", "0"]) as srv:
        s3 = boto3.session.Session().client(
            "s3", endpoint_url=srv.endpoint, region_name=REGION, verify=srv.cert,
            aws_access_key_id=srv.root_access_key, aws_secret_access_key=srv.root_secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )  # fmt: skip
        s3.create_bucket(Bucket="hygiene")
        for round_ in range(5):
            bodies = [bytes([65 + i]) * (INLINE_MAX + 1) for i in range(2)]
            winner, loser = race_puts(s3, "hygiene", f"k{round_}", bodies)
            assert (winner, loser in (409, 412)) == (200, True)
        deadline = time.monotonic() + 10
        while (blobs := stored_blob_count(srv)) != 5:
            assert time.monotonic() < deadline, f"{blobs} blobs stored, 5 needed"
            time.sleep(0.25)


# -- CopyObject (destination conditions) ----------------------------------------------
def test_copy_destination_conditions(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="src", Body=b"source")
    source = {"Bucket": bucket, "Key": "src"}
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch="*")
    with s3_error("PreconditionFailed", 412) as info:
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfNoneMatch="*")
    assert condition_of(info) == "If-None-Match"
    s3.put_object(Bucket=bucket, Key="dst", Body=b"changed")
    with s3_error("PreconditionFailed", 412):
        s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfMatch=etag(b"source"))
    s3.copy_object(Bucket=bucket, Key="dst", CopySource=source, IfMatch=etag(b"changed"))
    assert body_of(s3.get_object(Bucket=bucket, Key="dst")) == b"source"


# -- CompleteMultipartUpload ----------------------------------------------------------
def _upload(s3: Any, bucket: str, key: str, *bodies: bytes) -> tuple[str, list[dict[str, Any]]]:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, body in enumerate(bodies, 1):
        resp = s3.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
        )
        parts.append({"PartNumber": number, "ETag": resp["ETag"]})
    return upload_id, parts


def _complete(s3: Any, bucket: str, key: str, upload_id: str, parts: Any, **kw: Any) -> Any:
    return s3.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **kw
    )


def test_complete_if_none_match(s3: Any, bucket: str) -> None:
    upload_id, parts = _upload(s3, bucket, "mp", b"one")
    _complete(s3, bucket, "mp", upload_id, parts, IfNoneMatch="*")
    second, parts2 = _upload(s3, bucket, "mp", b"two")
    with s3_error("PreconditionFailed", 412) as info:
        _complete(s3, bucket, "mp", second, parts2, IfNoneMatch="*")
    assert condition_of(info) == "If-None-Match"
    assert body_of(s3.get_object(Bucket=bucket, Key="mp")) == b"one"
    # Refused, the upload stays open: it can still be completed unconditionally.
    _complete(s3, bucket, "mp", second, parts2)
    assert body_of(s3.get_object(Bucket=bucket, Key="mp")) == b"two"


def test_complete_if_match(s3: Any, bucket: str) -> None:
    with_missing, parts = _upload(s3, bucket, "mp", b"one")
    with s3_error("NoSuchKey", 404):
        _complete(s3, bucket, "mp", with_missing, parts, IfMatch=etag(b"x"))
    current = s3.put_object(Bucket=bucket, Key="mp", Body=b"plain")["ETag"]
    with s3_error("PreconditionFailed", 412) as info:
        _complete(s3, bucket, "mp", with_missing, parts, IfMatch=etag(b"x"))
    assert condition_of(info) == "If-Match"
    _complete(s3, bucket, "mp", with_missing, parts, IfMatch=current)
    assert body_of(s3.get_object(Bucket=bucket, Key="mp")) == b"one"


def test_retried_complete_answers_as_the_first(s3: Any, bucket: str) -> None:
    upload_id, parts = _upload(s3, bucket, "mp", b"a" * PART, b"b")
    first = _complete(s3, bucket, "mp", upload_id, parts, IfNoneMatch="*")
    # The response was lost; the SDK sends the same request again (its condition no
    # longer holds against the object it created: it is a replay, not a new write).
    again = _complete(s3, bucket, "mp", upload_id, parts, IfNoneMatch="*")
    for field in ("ETag", "Location", "Bucket", "Key"):
        assert again[field] == first[field], field
    assert again["ResponseMetadata"]["HTTPStatusCode"] == 200
    # Another part list is no retry of that request.
    with s3_error("NoSuchUpload", 404):
        _complete(s3, bucket, "mp", upload_id, parts[:1])
    # Once the object is overwritten, the upload's object is gone: nothing to replay.
    s3.put_object(Bucket=bucket, Key="mp", Body=b"new")
    with s3_error("NoSuchUpload", 404):
        _complete(s3, bucket, "mp", upload_id, parts)
    # An aborted upload never became an object: nothing to replay either.
    aborted, parts = _upload(s3, bucket, "mp", b"a")
    s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=aborted)
    with s3_error("NoSuchUpload", 404):
        _complete(s3, bucket, "mp", aborted, parts, IfNoneMatch="*")


def test_a_retry_racing_the_first_complete_also_succeeds(s3: Any, bucket: str) -> None:
    """The SDK resends Complete while the first is still being processed: both 200."""
    for round_ in range(10):
        key = f"mp-{round_}"
        upload_id, parts = _upload(s3, bucket, key, b"a" * PART, b"b")
        complete = functools.partial(_complete, s3, bucket, key, upload_id, parts)
        results = at_once(complete, complete)
        assert all(isinstance(r, dict) for r in results), (round_, results)
        assert results[0]["ETag"] == results[1]["ETag"]


def test_complete_with_a_resent_part_listed_twice(s3: Any, bucket: str) -> None:
    """A client that logged both uploads of a resent part lists its number twice: the
    last listing counts."""
    upload_id, parts = _upload(s3, bucket, "mp", b"a" * PART, b"tail")
    resent = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"c" * PART
    )
    listed = [parts[0], {"PartNumber": 1, "ETag": resent["ETag"]}, parts[1]]
    done = _complete(s3, bucket, "mp", upload_id, listed)
    digests = b"".join(hashlib.md5(p).digest() for p in (b"c" * PART, b"tail"))
    assert done["ETag"] == f'"{hashlib.md5(digests).hexdigest()}-2"'
    assert body_of(s3.get_object(Bucket=bucket, Key="mp")) == b"c" * PART + b"tail"


def test_complete_listing_a_stale_etag_last_is_invalid_part(s3: Any, bucket: str) -> None:
    upload_id, parts = _upload(s3, bucket, "mp", b"a" * PART, b"tail")
    resent = s3.upload_part(
        Bucket=bucket, Key="mp", UploadId=upload_id, PartNumber=1, Body=b"c" * PART
    )
    listed = [{"PartNumber": 1, "ETag": resent["ETag"]}, parts[0], parts[1]]
    with s3_error("InvalidPart", 400):
        _complete(s3, bucket, "mp", upload_id, listed)
    with s3_error("InvalidPartOrder", 400):
        _complete(s3, bucket, "mp", upload_id, [parts[1], parts[0]])


# -- DeleteObject and DeleteObjects ---------------------------------------------------
def test_delete_if_match(s3: Any, bucket: str) -> None:
    tag = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ETag"]
    with s3_error("PreconditionFailed", 412) as info:
        s3.delete_object(Bucket=bucket, Key="k", IfMatch=etag(b"other"))
    assert condition_of(info) == "If-Match"
    assert body_of(s3.get_object(Bucket=bucket, Key="k")) == b"x"
    resp = s3.delete_object(Bucket=bucket, Key="k", IfMatch=tag)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with s3_error("NoSuchKey", 404):  # If-Match (even "*") on a missing key
        s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")


def test_delete_if_match_size(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"xyz")
    with s3_error("PreconditionFailed", 412):
        s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=4)
    s3.delete_object(Bucket=bucket, Key="k", IfMatchSize=3)
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="k")


def test_delete_if_match_last_modified_time(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"xyz")
    modified = s3.head_object(Bucket=bucket, Key="k")["LastModified"]
    with s3_error("PreconditionFailed", 412):
        s3.delete_object(
            Bucket=bucket, Key="k", IfMatchLastModifiedTime=modified - timedelta(seconds=1)
        )
    s3.delete_object(Bucket=bucket, Key="k", IfMatchLastModifiedTime=modified, IfMatchSize=3)
    with s3_error("NoSuchKey", 404):
        s3.get_object(Bucket=bucket, Key="k")


def test_delete_objects_with_size_and_time(s3: Any, bucket: str) -> None:
    for key in "ab":
        s3.put_object(Bucket=bucket, Key=key, Body=b"xyz")
    modified = s3.head_object(Bucket=bucket, Key="a")["LastModified"]
    objects = [
        {"Key": "a", "Size": 3, "LastModifiedTime": modified},
        {"Key": "b", "Size": 4},
    ]
    resp = s3.delete_objects(Bucket=bucket, Delete={"Objects": objects})
    assert [d["Key"] for d in resp["Deleted"]] == ["a"]
    assert [(e["Key"], e["Code"]) for e in resp["Errors"]] == [("b", "PreconditionFailed")]


def test_delete_objects_with_etags(s3: Any, bucket: str) -> None:
    tags = {k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode())["ETag"] for k in "abc"}
    resp = s3.delete_objects(
        Bucket=bucket,
        Delete={
            "Objects": [
                {"Key": "a", "ETag": tags["a"]},
                {"Key": "b", "ETag": etag(b"stale")},
                {"Key": "c"},
            ]
        },
    )
    assert sorted(d["Key"] for d in resp["Deleted"]) == ["a", "c"]
    assert [(e["Key"], e["Code"]) for e in resp["Errors"]] == [("b", "PreconditionFailed")]
    remaining = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert [o["Key"] for o in remaining] == ["b"]

