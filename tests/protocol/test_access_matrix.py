"""The access matrix: {owner, other user, anonymous} x every operation x bucket ACL.

The expected outcome of each cell comes from a small oracle of AWS's legacy ACL model
(objects belong to their writer; here the bucket owner wrote every object, with the same
canned ACL as the bucket):

- bucket READ  -> ListObjects(V2), ListObjectVersions, ListMultipartUploads, HeadBucket
- bucket WRITE -> PutObject, CopyObject (destination), DeleteObject(s), CreateMultipartUpload
- object READ  -> GetObject, HeadObject, CopyObject (source)
- READ_ACP / WRITE_ACP, and the bucket subresources (location, versioning, ACL) and
  DeleteBucket: only the owner (no canned group grant carries them).

AllUsers covers everybody, AuthenticatedUsers every signed request. Allowed cells must
succeed (2xx) and have their effect; denied cells must answer 403 AccessDenied and leave the
stored state exactly as it was.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from ._util import s3_error

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTH_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"

ACLS = ["private", "public-read", "public-read-write", "authenticated-read"]
CALLERS = ["owner", "other", "anonymous"]

# What each canned ACL grants beyond the owner's FULL_CONTROL (AWS's canned ACL table).
GROUP_GRANTS: dict[str, set[tuple[str, str]]] = {
    "private": set(),
    "public-read": {(ALL_USERS, "READ")},
    "public-read-write": {(ALL_USERS, "READ"), (ALL_USERS, "WRITE")},
    "authenticated-read": {(AUTH_USERS, "READ")},
}

OWNER_ONLY = "owner-only"
# operation -> (resource, permission) it needs
REQUIRES: dict[str, tuple[str, str]] = {
    "ListObjectsV2": ("bucket", "READ"),
    "ListObjects": ("bucket", "READ"),
    "ListObjectVersions": ("bucket", "READ"),
    "ListMultipartUploads": ("bucket", "READ"),
    "HeadBucket": ("bucket", "READ"),
    "GetBucketLocation": ("bucket", OWNER_ONLY),
    "GetBucketVersioning": ("bucket", OWNER_ONLY),
    "GetBucketAcl": ("bucket", "READ_ACP"),
    "PutBucketAcl": ("bucket", "WRITE_ACP"),
    "DeleteBucket": ("bucket", OWNER_ONLY),
    "PutObject": ("bucket", "WRITE"),
    "DeleteObject": ("bucket", "WRITE"),
    "DeleteObjects": ("bucket", "WRITE"),
    "CreateMultipartUpload": ("bucket", "WRITE"),
    "CopyObjectDestination": ("bucket", "WRITE"),
    "GetObject": ("object", "READ"),
    "HeadObject": ("object", "READ"),
    "GetObjectAttributes": ("object", "READ"),
    "CopyObjectSource": ("object", "READ"),
    "GetObjectAcl": ("object", "READ_ACP"),
    "PutObjectAcl": ("object", "WRITE_ACP"),
    # a missing key: NoSuchKey to those who may list the bucket, AccessDenied to others
    "GetMissingObject": ("bucket", "READ"),
}


def holds(acl: str, caller: str, permission: str) -> bool:
    """Does ``caller`` hold ``permission`` on a resource the owner made with ``acl``?"""
    if caller == "owner":
        return True  # the resource owner (FULL_CONTROL, and implicit *_ACP)
    if permission == OWNER_ONLY:
        return False
    groups = {ALL_USERS} if caller == "anonymous" else {ALL_USERS, AUTH_USERS}
    return any(
        group in groups and granted in (permission, "FULL_CONTROL")
        for group, granted in GROUP_GRANTS[acl]
    )


def expected_allowed(op: str, acl: str, caller: str) -> bool:
    _, permission = REQUIRES[op]
    # bucket and objects carry the same ACL and the same owner in this matrix
    return holds(acl, caller, permission)


def test_oracle_spot_checks() -> None:
    """A few cells spelled out, so the oracle itself is reviewed against AWS's tables."""
    assert expected_allowed("GetObject", "public-read", "anonymous")
    assert not expected_allowed("PutObject", "public-read", "anonymous")
    assert expected_allowed("PutObject", "public-read-write", "anonymous")
    assert expected_allowed("ListObjectsV2", "authenticated-read", "other")
    assert not expected_allowed("ListObjectsV2", "authenticated-read", "anonymous")
    assert not expected_allowed("GetObjectAcl", "public-read-write", "other")
    assert not expected_allowed("DeleteBucket", "public-read-write", "anonymous")
    assert not expected_allowed("GetBucketAcl", "public-read", "other")
    assert all(expected_allowed(op, acl, "owner") for op in REQUIRES for acl in ACLS)
    assert not any(expected_allowed(op, "private", c) for op in REQUIRES for c in CALLERS[1:])


# -- the world every cell runs in ------------------------------------------------------------


def _md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


OBJ = "shared/object.txt"
OBJ_DATA = b"the owner's object, same ACL as its bucket"
SRC = "source.txt"
SRC_DATA = b"a public-read copy source"


@dataclass
class World:
    owner: Any
    other: Any
    anonymous: Any
    owner_id: str
    unique_name: Callable[[str], str]
    buckets: dict[str, str] = field(default_factory=dict)  # acl -> shared bucket
    sink: str = ""  # public-read-write bucket of the owner, with a public-read SRC
    made: list[str] = field(default_factory=list)

    def client(self, caller: str) -> Any:
        return {"owner": self.owner, "other": self.other, "anonymous": self.anonymous}[caller]

    def new_bucket(self, acl: str) -> str:
        name = self.unique_name("mx")
        self.owner.create_bucket(Bucket=name, ACL=acl)
        self.made.append(name)
        return name

    def listing(self, bucket: str, prefix: str) -> dict[str, str]:
        """key -> ETag, as the owner (who may always list) sees it."""
        resp = self.owner.list_objects_v2(Bucket=bucket, Prefix=prefix)
        return {o["Key"]: o["ETag"] for o in resp.get("Contents", [])}

    def victim(self, acl: str, bucket: str | None = None) -> tuple[str, str, bytes]:
        """A fresh owner object with ``acl`` in the shared bucket of that ACL."""
        bucket = bucket or self.buckets[acl]
        key = f"victim/{uuid.uuid4().hex}"
        data = f"victim {key}".encode()
        self.owner.put_object(Bucket=bucket, Key=key, Body=data, ACL=acl)
        return bucket, key, data

    def remove(self, bucket: str, key: str) -> None:
        with contextlib.suppress(ClientError):
            self.owner.delete_object(Bucket=bucket, Key=key)

    def object_acl(self, bucket: str, key: str) -> list[tuple[str, str, str]]:
        return _grants(self.owner.get_object_acl(Bucket=bucket, Key=key))


def _grants(resp: dict[str, Any]) -> list[tuple[str, str, str]]:
    out = []
    for g in resp["Grants"]:
        grantee = g["Grantee"]
        out.append((grantee["Type"], str(grantee.get("ID") or grantee.get("URI")), g["Permission"]))
    return sorted(out)


def _cleanup(client: Any, name: str) -> None:
    with contextlib.suppress(ClientError):
        for up in client.list_multipart_uploads(Bucket=name).get("Uploads", []):
            with contextlib.suppress(ClientError):
                client.abort_multipart_upload(Bucket=name, Key=up["Key"], UploadId=up["UploadId"])
        for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
            with contextlib.suppress(ClientError):
                client.delete_object(Bucket=name, Key=obj["Key"])
    with contextlib.suppress(ClientError):
        client.delete_bucket(Bucket=name)


@pytest.fixture(scope="module")
def world(
    make_user: Callable[..., Any],
    client_for: Callable[..., Any],
    unique_name: Callable[[str], str],
) -> Iterator[World]:
    owner_keys, other_keys = make_user(), make_user()
    w = World(
        owner=client_for(*owner_keys),
        other=client_for(*other_keys),
        anonymous=client_for("anonymous", "anonymous", signature_version=UNSIGNED),
        owner_id=str(owner_keys.canonical_id),
        unique_name=unique_name,
    )
    try:
        for acl in ACLS:
            name = w.new_bucket(acl)
            w.owner.put_object(Bucket=name, Key=OBJ, Body=OBJ_DATA, ACL=acl)
            w.buckets[acl] = name
        w.sink = w.new_bucket("public-read-write")
        w.owner.put_object(Bucket=w.sink, Key=SRC, Body=SRC_DATA, ACL="public-read")
        yield w
    finally:
        for name in reversed(w.made):
            _cleanup(w.owner, name)


# -- outcome helpers -------------------------------------------------------------------------


def assert_denied(fn: Callable[[], Any]) -> None:
    """403 AccessDenied (a HEAD response has no body: botocore reports the code "403")."""
    with pytest.raises(ClientError) as ei:
        fn()
    resp = ei.value.response
    status = resp["ResponseMetadata"]["HTTPStatusCode"]
    code = resp["Error"]["Code"]
    assert (status, code) in ((403, "AccessDenied"), (403, "403")), resp


def run(allowed: bool, fn: Callable[[], Any]) -> Any:
    if allowed:
        resp = fn()
        assert 200 <= resp["ResponseMetadata"]["HTTPStatusCode"] < 300, resp
        return resp
    assert_denied(fn)
    return None


# -- the operations: each asserts the outcome and the stored state ---------------------------


def op_list_objects_v2(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.list_objects_v2(Bucket=w.buckets[acl], Prefix="shared/"))
    if allowed:
        assert [o["Key"] for o in resp["Contents"]] == [OBJ]


def op_list_objects(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.list_objects(Bucket=w.buckets[acl], Prefix="shared/"))
    if allowed:
        assert [o["Key"] for o in resp["Contents"]] == [OBJ]
        assert resp["Contents"][0]["ETag"] == _md5_etag(OBJ_DATA)


def op_list_object_versions(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.list_object_versions(Bucket=w.buckets[acl], Prefix="shared/"))
    if allowed:
        assert [v["Key"] for v in resp["Versions"]] == [OBJ]


def op_list_multipart_uploads(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket = w.buckets[acl]
    key = f"mpu/{uuid.uuid4().hex}"
    upload = w.owner.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    try:
        resp = run(allowed, lambda: c.list_multipart_uploads(Bucket=bucket, Prefix=key))
        if allowed:
            assert [u["UploadId"] for u in resp["Uploads"]] == [upload]
    finally:
        w.owner.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)


def op_head_bucket(w: World, acl: str, c: Any, allowed: bool) -> None:
    run(allowed, lambda: c.head_bucket(Bucket=w.buckets[acl]))


def op_get_bucket_location(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.get_bucket_location(Bucket=w.buckets[acl]))
    if allowed:
        assert resp.get("LocationConstraint") in (None, "")


def op_get_bucket_versioning(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.get_bucket_versioning(Bucket=w.buckets[acl]))
    if allowed:
        assert "Status" not in resp


def op_get_bucket_acl(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.get_bucket_acl(Bucket=w.buckets[acl]))
    if allowed:
        assert resp["Owner"]["ID"] == w.owner_id
        groups = {(g, p) for kind, g, p in _grants(resp) if kind == "Group"}
        assert groups == GROUP_GRANTS[acl]


def _other_acl(acl: str) -> str:
    return "private" if acl != "private" else "public-read-write"


def op_put_bucket_acl(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket = w.new_bucket(acl)
    before = _grants(w.owner.get_bucket_acl(Bucket=bucket))
    new = _other_acl(acl)
    run(allowed, lambda: c.put_bucket_acl(Bucket=bucket, ACL=new))
    after = _grants(w.owner.get_bucket_acl(Bucket=bucket))
    if allowed:
        assert {(g, p) for kind, g, p in after if kind == "Group"} == GROUP_GRANTS[new]
    else:
        assert after == before


def op_delete_bucket(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket = w.new_bucket(acl)
    run(allowed, lambda: c.delete_bucket(Bucket=bucket))
    if allowed:
        with s3_error("404", 404):
            w.owner.head_bucket(Bucket=bucket)
    else:
        w.owner.head_bucket(Bucket=bucket)
        assert _grants(w.owner.get_bucket_acl(Bucket=bucket))[0][1] == w.owner_id


def op_put_object(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket, key, data = w.victim(acl)
    new = b"overwritten by " + uuid.uuid4().hex.encode()
    try:
        run(allowed, lambda: c.put_object(Bucket=bucket, Key=key, Body=new))
        expected = _md5_etag(new if allowed else data)
        assert w.listing(bucket, key) == {key: expected}
        if not allowed:
            assert w.owner.get_object(Bucket=bucket, Key=key)["Body"].read() == data
        # a new key as well: nothing may appear where writing is denied
        fresh = f"fresh/{uuid.uuid4().hex}"
        run(allowed, lambda: c.put_object(Bucket=bucket, Key=fresh, Body=new))
        assert w.listing(bucket, fresh) == ({fresh: _md5_etag(new)} if allowed else {})
        w.remove(bucket, fresh)
    finally:
        w.remove(bucket, key)


def op_delete_object(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket, key, data = w.victim(acl)
    try:
        run(allowed, lambda: c.delete_object(Bucket=bucket, Key=key))
        assert w.listing(bucket, key) == ({} if allowed else {key: _md5_etag(data)})
    finally:
        w.remove(bucket, key)


def op_delete_objects(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket, key, data = w.victim(acl)
    _, key2, data2 = w.victim(acl)
    request = {"Objects": [{"Key": key}, {"Key": key2}]}
    try:
        if allowed:
            resp = run(True, lambda: c.delete_objects(Bucket=bucket, Delete=request))
            assert sorted(d["Key"] for d in resp["Deleted"]) == sorted([key, key2])
            assert not resp.get("Errors")
            assert w.listing(bucket, "victim/").keys().isdisjoint({key, key2})
        else:
            # AWS answers either 403 for the request or 200 with AccessDenied per key
            try:
                resp = c.delete_objects(Bucket=bucket, Delete=request)
            except ClientError as exc:
                err = exc.response
                assert err["ResponseMetadata"]["HTTPStatusCode"] == 403, err
                assert err["Error"]["Code"] == "AccessDenied", err
            else:
                assert not resp.get("Deleted"), resp
                errors = {e["Key"]: e["Code"] for e in resp.get("Errors", [])}
                assert errors == {key: "AccessDenied", key2: "AccessDenied"}, resp
            assert w.listing(bucket, key) == {key: _md5_etag(data)}
            assert w.listing(bucket, key2) == {key2: _md5_etag(data2)}
    finally:
        w.remove(bucket, key)
        w.remove(bucket, key2)


def op_create_multipart_upload(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket = w.buckets[acl]
    key = f"mpu/{uuid.uuid4().hex}"
    resp = run(allowed, lambda: c.create_multipart_upload(Bucket=bucket, Key=key))
    uploads = w.owner.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    if allowed:
        assert [u["UploadId"] for u in uploads] == [resp["UploadId"]]
        w.owner.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=resp["UploadId"])
    else:
        assert uploads == []


def op_copy_object_destination(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket, key, data = w.victim(acl)
    source = {"Bucket": w.sink, "Key": SRC}
    try:
        run(allowed, lambda: c.copy_object(Bucket=bucket, Key=key, CopySource=source))
        expected = _md5_etag(SRC_DATA if allowed else data)
        assert w.listing(bucket, key) == {key: expected}
    finally:
        w.remove(bucket, key)


def op_copy_object_source(w: World, acl: str, c: Any, allowed: bool) -> None:
    dest = f"copies/{uuid.uuid4().hex}"
    source = {"Bucket": w.buckets[acl], "Key": OBJ}
    try:
        run(allowed, lambda: c.copy_object(Bucket=w.sink, Key=dest, CopySource=source))
        assert w.listing(w.sink, dest) == ({dest: _md5_etag(OBJ_DATA)} if allowed else {})
    finally:
        w.remove(w.sink, dest)


def op_get_object(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.get_object(Bucket=w.buckets[acl], Key=OBJ))
    if allowed:
        assert resp["Body"].read() == OBJ_DATA


def op_head_object(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.head_object(Bucket=w.buckets[acl], Key=OBJ))
    if allowed:
        assert resp["ContentLength"] == len(OBJ_DATA)
        assert resp["ETag"] == _md5_etag(OBJ_DATA)


def op_get_object_attributes(w: World, acl: str, c: Any, allowed: bool) -> None:
    def call() -> Any:
        names = ["ETag", "ObjectSize"]
        return c.get_object_attributes(Bucket=w.buckets[acl], Key=OBJ, ObjectAttributes=names)

    resp = run(allowed, call)
    if allowed:
        assert resp["ObjectSize"] == len(OBJ_DATA)
        assert resp["ETag"] == _md5_etag(OBJ_DATA).strip('"')


def op_get_missing_object(w: World, acl: str, c: Any, allowed: bool) -> None:
    key = f"missing/{uuid.uuid4().hex}"
    if allowed:
        with s3_error("NoSuchKey", 404):
            c.get_object(Bucket=w.buckets[acl], Key=key)
    else:
        assert_denied(lambda: c.get_object(Bucket=w.buckets[acl], Key=key))


def op_get_object_acl(w: World, acl: str, c: Any, allowed: bool) -> None:
    resp = run(allowed, lambda: c.get_object_acl(Bucket=w.buckets[acl], Key=OBJ))
    if allowed:
        assert resp["Owner"]["ID"] == w.owner_id
        groups = {(g, p) for kind, g, p in _grants(resp) if kind == "Group"}
        assert groups == GROUP_GRANTS[acl]


def op_put_object_acl(w: World, acl: str, c: Any, allowed: bool) -> None:
    bucket, key, data = w.victim(acl)
    before = w.object_acl(bucket, key)
    new = _other_acl(acl)
    try:
        run(allowed, lambda: c.put_object_acl(Bucket=bucket, Key=key, ACL=new))
        after = w.object_acl(bucket, key)
        if allowed:
            assert {(g, p) for kind, g, p in after if kind == "Group"} == GROUP_GRANTS[new]
        else:
            assert after == before
        assert w.listing(bucket, key) == {key: _md5_etag(data)}
    finally:
        w.remove(bucket, key)


OPS: dict[str, Callable[[World, str, Any, bool], None]] = {
    "ListObjectsV2": op_list_objects_v2,
    "ListObjects": op_list_objects,
    "ListObjectVersions": op_list_object_versions,
    "ListMultipartUploads": op_list_multipart_uploads,
    "HeadBucket": op_head_bucket,
    "GetBucketLocation": op_get_bucket_location,
    "GetBucketVersioning": op_get_bucket_versioning,
    "GetBucketAcl": op_get_bucket_acl,
    "PutBucketAcl": op_put_bucket_acl,
    "DeleteBucket": op_delete_bucket,
    "PutObject": op_put_object,
    "DeleteObject": op_delete_object,
    "DeleteObjects": op_delete_objects,
    "CreateMultipartUpload": op_create_multipart_upload,
    "CopyObjectDestination": op_copy_object_destination,
    "CopyObjectSource": op_copy_object_source,
    "GetObject": op_get_object,
    "HeadObject": op_head_object,
    "GetObjectAttributes": op_get_object_attributes,
    "GetObjectAcl": op_get_object_acl,
    "PutObjectAcl": op_put_object_acl,
    "GetMissingObject": op_get_missing_object,
}
assert OPS.keys() == REQUIRES.keys()

CELLS = [
    pytest.param(acl, caller, op, id=f"{acl}-{caller}-{op}")
    for acl in ACLS
    for caller in CALLERS
    for op in OPS
]


@pytest.mark.parametrize(("acl", "caller", "op"), CELLS)
def test_cell(world: World, acl: str, caller: str, op: str) -> None:
    allowed = expected_allowed(op, acl, caller)
    OPS[op](world, acl, world.client(caller), allowed)
    # whatever the cell did, the shared object and its ACL are untouched
    bucket = world.buckets[acl]
    assert world.listing(bucket, "shared/") == {OBJ: _md5_etag(OBJ_DATA)}
    groups = {(g, p) for kind, g, p in world.object_acl(bucket, OBJ) if kind == "Group"}
    assert groups == GROUP_GRANTS[acl]


# -- service-level operations ----------------------------------------------------------------


def test_anonymous_list_buckets_denied(world: World) -> None:
    assert_denied(lambda: world.anonymous.list_buckets())


def test_anonymous_create_bucket_denied(world: World) -> None:
    name = world.unique_name("mx-anon")
    assert_denied(lambda: world.anonymous.create_bucket(Bucket=name))
    with s3_error("404", 404):
        world.owner.head_bucket(Bucket=name)


def test_signed_users_list_only_their_buckets(world: World) -> None:
    names = {b["Name"] for b in world.owner.list_buckets()["Buckets"]}
    assert set(world.buckets.values()) <= names
    other = {b["Name"] for b in world.other.list_buckets()["Buckets"]}
    assert other.isdisjoint(names)
