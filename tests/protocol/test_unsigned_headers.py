"""SigV4 header signatures must cover every x-amz-* header (and Content-MD5, Host): a
header added after signing is refused, as AWS does, and changes nothing stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import requests

from ._s3raw import RawClient, error_code, error_field
from ._server import ServerProcess
from ._types import ClientFor, S3Client


def _adding(client: Any, event: str, added: dict[str, str]) -> Callable[[], None]:
    """Make ``client`` add ``added`` to its requests after signing; returns the undo."""

    def add(request: Any, **_: Any) -> None:
        for name, value in added.items():
            request.headers[name] = value

    client.meta.events.register(f"before-send.s3.{event}", add)
    return lambda: client.meta.events.unregister(f"before-send.s3.{event}", add)


@pytest.fixture
def s3v4_fresh(client_for: ClientFor, server: ServerProcess) -> S3Client:
    """A client of its own: the hook must not leak into the session's shared client."""
    return client_for(server.root_access_key, server.root_secret_key, retries={"max_attempts": 0})


def _refused(exc: Any, names: str) -> None:
    err = exc.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err["Error"]["Code"] == "AccessDenied"
    assert err["Error"]["Message"] == (
        f"There were headers present in the request which were not signed: {names}"
    )


def test_unsigned_acl_does_not_make_an_object_public(
    s3: S3Client, s3v4_fresh: S3Client, bucket: str, server: ServerProcess
) -> None:
    undo = _adding(s3v4_fresh, "PutObject", {"x-amz-acl": "public-read"})
    with pytest.raises(s3.exceptions.ClientError) as exc:
        s3v4_fresh.put_object(Bucket=bucket, Key="k", Body=b"private")
    undo()
    _refused(exc, "x-amz-acl")
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    # The same header signed is honoured: the signature, not the header, was the problem.
    s3v4_fresh.put_object(Bucket=bucket, Key="k", Body=b"public", ACL="public-read")
    anonymous = requests.get(f"{server.endpoint}/{bucket}/k", verify=server.cert)
    assert anonymous.status_code == 200


def test_unsigned_copy_source_does_not_turn_a_put_into_a_copy(
    s3: S3Client, s3v4_fresh: S3Client, bucket: str
) -> None:
    s3.put_object(Bucket=bucket, Key="secret", Body=b"the secret")
    undo = _adding(s3v4_fresh, "PutObject", {"x-amz-copy-source": f"/{bucket}/secret"})
    with pytest.raises(s3.exceptions.ClientError) as exc:
        s3v4_fresh.put_object(Bucket=bucket, Key="copy", Body=b"")
    undo()
    _refused(exc, "x-amz-copy-source")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["secret"]


def test_every_unsigned_name_is_listed(raw: RawClient, bucket: str) -> None:
    signed = raw.signed_headers("PUT", raw.url(bucket, "k"), {}, "UNSIGNED-PAYLOAD").headers
    headers = {**signed, "x-amz-meta-z": "1", "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}
    resp = raw.send("PUT", raw.url(bucket, "k"), headers)
    assert resp.status_code == 403, resp.text
    assert error_code(resp.content) == "AccessDenied"
    assert error_field(resp.content, "HeadersNotSigned") == "content-md5, x-amz-meta-z"


def test_presigned_url_refuses_added_headers(
    s3: S3Client, bucket: str, server: ServerProcess, client_for: ClientFor
) -> None:
    v4 = client_for(server.root_access_key, server.root_secret_key, signature_version="s3v4")
    url = v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "p"})
    resp = requests.put(url, data=b"x", headers={"x-amz-acl": "public-read"}, verify=server.cert)
    assert resp.status_code == 403, resp.text
    assert error_field(resp.content, "HeadersNotSigned") == "x-amz-acl"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    assert requests.put(url, data=b"x", verify=server.cert).status_code == 200
