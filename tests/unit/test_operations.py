"""Typed operations: every Op is routed to a handler (or answered by the server itself),
has one PERMISSION entry, and its route parameters are parsed once, with AWS's errors."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from oortgate import policy
from oortgate.errors import S3Error
from oortgate.http.routing import route
from oortgate.meta.models import BlobBody, Bucket, ObjectRecord
from oortgate.meta.versions import new_version_id
from oortgate.ops import HANDLERS, SERVER_ANSWERED
from oortgate.ops.operations import Op, Route
from oortgate.ops.params import parse, parse_copy_source, version_id
from oortgate.ops.permissions import (
    OWNER_ONLY,
    PERMISSION,
    Permission,
    check_bucket,
    check_object,
)

OWNER_ID, OTHER_ID = 1, 2


def test_every_op_has_a_handler_or_is_answered_by_the_server() -> None:
    assert set(HANDLERS) | SERVER_ANSWERED == set(Op)
    assert not set(HANDLERS) & SERVER_ANSWERED


def test_every_op_has_one_permission_entry() -> None:
    assert set(PERMISSION) == set(Op)


def test_op_values_are_the_names_logs_and_metrics_show() -> None:
    assert all(op.value == op.name for op in Op)
    assert f"{Op.GetObject}" == "GetObject" and Op.GetObject == "GetObject"


def test_routing_returns_ops() -> None:
    found = route("PUT", "/b/k", {"partNumber": "3", "uploadId": "u"}, {})
    assert found.op is Op.UploadPart


@pytest.mark.parametrize(
    ("op", "need"),
    [
        # The table spot-checked against AWS's legacy ACL model, a cell per kind.
        (Op.ListBuckets, Permission(signed_in=True)),
        (Op.CreateBucket, Permission(signed_in=True)),
        (Op.HeadBucket, Permission(bucket=policy.READ)),
        (Op.DeleteBucket, Permission(bucket=OWNER_ONLY)),
        (Op.PutObject, Permission(bucket=policy.WRITE)),
        (Op.GetObject, Permission(object=policy.READ)),
        (Op.GetBucketAcl, Permission(bucket=policy.READ_ACP)),
        (Op.PutObjectAcl, Permission(object=policy.WRITE_ACP)),
        (Op.CopyObject, Permission(bucket=policy.WRITE, source=True)),
        (Op.UploadPartCopy, Permission(bucket=policy.WRITE, source=True)),
        (Op.RestoreObject, Permission(bucket=policy.WRITE, object=policy.READ)),
        (Op.PostObject, Permission(bucket=policy.WRITE, form=True)),
        (Op.Preflight, Permission()),
    ],
)
def test_permission_cells(op: Op, need: Permission) -> None:
    assert PERMISSION[op] == need


def test_only_object_operations_check_an_object() -> None:
    checked = {op for op, need in PERMISSION.items() if need.object is not None}
    assert checked <= {
        Op.GetObject, Op.HeadObject, Op.GetObjectAcl, Op.PutObjectAcl, Op.RestoreObject,
        Op.GetObjectAttributes, Op.GetObjectTagging, Op.PutObjectTagging,
        Op.DeleteObjectTagging, Op.GetObjectRetention, Op.PutObjectRetention,
        Op.GetObjectLegalHold, Op.PutObjectLegalHold,
    }  # fmt: skip


def _bucket(acl: str = "private", **kw: str | None) -> Bucket:
    return Bucket(7, "b", OWNER_ID, "us-east-1", 0.0, acl=acl, **kw)  # type: ignore[arg-type]


def _object(acl: str = "private", owner: int | None = OTHER_ID) -> ObjectRecord:
    return ObjectRecord(7, "k", BlobBody("blob", 1), 1, "e", 0.0, acl=acl, owner_id=owner)


def granted(check: Callable[[], object]) -> bool:
    try:
        check()
    except S3Error as err:
        assert err.code == "AccessDenied"
        return False
    return True


def test_owner_only_ignores_what_the_acl_grants() -> None:
    public = _bucket("public-read-write")
    assert granted(lambda: check_bucket(OWNER_ONLY, public, OWNER_ID))
    assert not granted(lambda: check_bucket(OWNER_ONLY, public, OTHER_ID))
    assert not granted(lambda: check_bucket(OWNER_ONLY, public, None))
    assert granted(lambda: check_bucket(policy.WRITE, public, None))


def _object_granted(op: Op, bucket: Bucket, record: ObjectRecord, caller: int | None) -> bool:
    return granted(lambda: check_object(PERMISSION[op], bucket, "k", record, caller))


def test_object_tags_the_bucket_owner_may_write() -> None:
    record = _object()  # written by OTHER_ID, private
    put_tags = Op.PutObjectTagging
    assert _object_granted(put_tags, _bucket(), record, OWNER_ID)  # owns the bucket
    assert _object_granted(put_tags, _bucket(), record, OTHER_ID)  # owns the object
    assert not _object_granted(put_tags, _bucket(), record, 3)
    assert not _object_granted(put_tags, _bucket(), _object("public-read"), 3)
    # ...but an object ACL alone does not let the bucket owner read what another wrote.
    assert not _object_granted(Op.GetObject, _bucket(), record, OWNER_ID)


def test_object_permission_follows_object_ownership() -> None:
    enforced = _bucket(ownership="BucketOwnerEnforced")
    # ACLs disabled: the bucket owner owns (and may read) every object; the writer, no more.
    assert _object_granted(Op.GetObject, enforced, _object(), OWNER_ID)
    assert not _object_granted(Op.GetObject, enforced, _object(), OTHER_ID)


@pytest.mark.parametrize(("acl", "caller", "code"), [
    ("public-read", None, "NoSuchKey"), ("private", OWNER_ID, "NoSuchKey"),
    ("private", None, "AccessDenied"), ("private", OTHER_ID, "AccessDenied"),
])  # fmt: skip
def test_a_missing_key_is_named_only_to_who_may_list(
    acl: str, caller: int | None, code: str
) -> None:
    for op in (Op.GetObject, Op.GetObjectAcl, Op.GetObjectTagging, Op.PutObjectTagging):
        with pytest.raises(S3Error) as info:
            check_object(PERMISSION[op], _bucket(acl), "gone", None, caller)
        assert info.value.code == code


def _parsed(op: Op, **query: str) -> Route:
    found = Route(op, "b", "k")
    parse(found, query)
    return found


def test_params_parsed_onto_the_route() -> None:
    part = _parsed(Op.UploadPart, partNumber="10000", uploadId="u-1")
    assert (part.part_number, part.upload_id) == (10000, "u-1")
    assert _parsed(Op.GetObject, partNumber="2", versionId="null").part_number == 2
    assert _parsed(Op.GetObject).part_number is None
    assert _parsed(Op.CompleteMultipartUpload).upload_id == ""
    assert _parsed(Op.DeleteObject, versionId="null").version_id == "null"
    # Operations that take no version ignore one (as before: PutObject?versionId=x).
    assert _parsed(Op.PutObject, versionId="x", partNumber="0").part_number is None


@pytest.mark.parametrize("value", ["0", "10001", "-1", "1.5", "", "x", "٣"])
@pytest.mark.parametrize("op", [Op.UploadPart, Op.UploadPartCopy, Op.GetObject, Op.HeadObject])
def test_part_number_out_of_range(op: Op, value: str) -> None:
    with pytest.raises(S3Error) as info:
        _parsed(op, partNumber=value, uploadId="u")
    err = info.value
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert err.message == "Part number must be an integer between 1 and 10000, inclusive"
    assert err.fields == {"ArgumentName": "partNumber", "ArgumentValue": value}


def test_upload_part_needs_a_part_number() -> None:
    with pytest.raises(S3Error, match="Part number"):
        _parsed(Op.UploadPart, uploadId="u")


@pytest.mark.parametrize("op", [Op.GetObject, Op.DeleteObject, Op.PutObjectTagging])
def test_malformed_version_ids_are_refused(op: Op) -> None:
    with pytest.raises(S3Error) as info:
        _parsed(op, versionId="3HL4kqtJlcpXroDTDmJ")  # no id this server makes
    assert (info.value.code, info.value.message) == (
        "InvalidArgument",
        "Invalid version id specified",
    )
    assert version_id("null") == "null"
    made = new_version_id()
    assert version_id(made) == made


def test_copy_source_parsed() -> None:
    assert parse_copy_source("/src/a%20b%2Bc?versionId=null") == ("src", "a b+c", "null")
    assert parse_copy_source("/src/k") == ("src", "k", None)
    with pytest.raises(S3Error) as info:
        parse_copy_source("src/k?versionId=v2")
    assert info.value.code == "NoSuchVersion"
    with pytest.raises(S3Error) as info:
        parse_copy_source("just-a-bucket")
    assert info.value.code == "InvalidArgument"
