"""ops/delete.py: DeleteObject (with its conditions) and DeleteObjects."""

from __future__ import annotations

import base64
import hashlib

from ._client import Client


def _delete_body(*keys: str, quiet: bool = False, extra: str = "") -> bytes:
    objects = "".join(f"<Object><Key>{k}</Key></Object>" for k in keys)
    flag = "<Quiet>true</Quiet>" if quiet else ""
    return f"<Delete>{flag}{objects}{extra}</Delete>".encode()


def _md5(body: bytes) -> dict[str, str]:
    return {"content-md5": base64.b64encode(hashlib.md5(body).digest()).decode()}


def test_delete_object(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    assert owner.request("DELETE", f"/{bucket}/k").status == 204
    assert owner.get(bucket, "k").error == (404, "NoSuchKey")
    assert owner.request("DELETE", f"/{bucket}/k").status == 204  # gone already: still 204


def test_conditional_delete(owner: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"data")
    etag = owner.get(bucket, "k").headers["etag"]
    wrong = owner.request("DELETE", f"/{bucket}/k", headers={"if-match": '"0000"'})
    assert wrong.error == (412, "PreconditionFailed")
    size = owner.request("DELETE", f"/{bucket}/k", headers={"x-amz-if-match-size": "99"})
    assert size.error == (412, "PreconditionFailed")
    assert owner.get(bucket, "k").status == 200
    bad = owner.request("DELETE", f"/{bucket}/k", headers={"x-amz-if-match-size": "-1"})
    assert bad.error == (400, "InvalidArgument")
    assert owner.request("DELETE", f"/{bucket}/k", headers={"if-match": etag}).status == 204
    assert owner.get(bucket, "k").status == 404


def test_delete_object_needs_write_permission(other: Client, owner: Client, bucket: str) -> None:
    owner.put(bucket, "k")
    assert other.request("DELETE", f"/{bucket}/k").error == (403, "AccessDenied")
    assert owner.get(bucket, "k").status == 200


def test_delete_objects(owner: Client, bucket: str) -> None:
    for key in ("a", "b", "c"):
        owner.put(bucket, key)
    body = _delete_body("a", "b", "never")
    reply = owner.request("POST", f"/{bucket}", "delete", body, _md5(body))
    assert reply.status == 200
    assert sorted(reply.texts("Deleted/Key")) == ["a", "b", "never"]
    assert owner.get(bucket, "a").status == 404
    assert owner.get(bucket, "c").status == 200


def test_delete_objects_quiet_lists_only_errors(owner: Client, bucket: str) -> None:
    owner.put(bucket, "a")
    version = "<Object><Key>a</Key><VersionId>v123</VersionId></Object>"
    body = _delete_body("a", quiet=True, extra=version)
    reply = owner.request("POST", f"/{bucket}", "delete", body, _md5(body))
    assert reply.status == 200
    assert reply.texts("Deleted/Key") == []
    assert reply.texts("Error/Code") == ["NoSuchVersion"]
    assert owner.get(bucket, "a").status == 404


def test_delete_objects_per_key_conditions(owner: Client, bucket: str) -> None:
    owner.put(bucket, "a")
    body = b'<Delete><Object><Key>a</Key><ETag>"0000"</ETag></Object></Delete>'
    reply = owner.request("POST", f"/{bucket}", "delete", body, _md5(body))
    assert reply.status == 200
    assert reply.texts("Error/Code") == ["PreconditionFailed"]
    assert owner.get(bucket, "a").status == 200


def test_delete_objects_bad_requests(owner: Client, other: Client, bucket: str) -> None:
    body = _delete_body("a")
    assert owner.request("POST", f"/{bucket}", "delete", body).error == (400, "InvalidRequest")
    wrong = {"content-md5": base64.b64encode(hashlib.md5(b"x").digest()).decode()}
    assert owner.request("POST", f"/{bucket}", "delete", body, wrong).error == (400, "BadDigest")
    bad = b"<Delete><Object>"
    assert owner.request("POST", f"/{bucket}", "delete", bad, _md5(bad)).error == (
        400, "MalformedXML",
    )  # fmt: skip
    denied = other.request("POST", f"/{bucket}", "delete", body, _md5(body))
    assert denied.error == (403, "AccessDenied")
