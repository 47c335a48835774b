"""The header table against the AWS S3 model: every header (and query parameter) an
implemented operation defines is honoured or refused, none left unclassified."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest

from oortgate.errors import S3Error
from oortgate.ops import HANDLERS, request_headers
from oortgate.ops.context import check_expected_owner
from oortgate.ops.multipart_math import check_declared
from oortgate.ops.request_headers import HEADERS, QUERY, REFUSE, check

# Our operations that are no botocore operation.
NOT_IN_MODEL = {"PostObject", "Preflight", "NotImplemented"}
OPS = sorted(set(HANDLERS) - NOT_IN_MODEL)
CANONICAL = "ab" * 32


@pytest.fixture(scope="module")
def model() -> Any:
    return botocore.session.get_session().get_service_model("s3")


def members(model: Any, op: str, location: str) -> set[str]:
    """The wire names of the op's input members at ``location`` (prefix maps: 'x-amz-meta-*')."""
    shape = model.operation_model(op).input_shape
    found = set()
    for member in shape.members.values() if shape is not None else ():
        where = member.serialization.get("location")
        name = member.serialization.get("name", "")
        if where == location:
            found.add(name.lower() if location == "header" else name)
        elif location == "header" and where == "headers":
            found.add(name.lower() + "*")
    return found


def test_every_operation_is_in_the_table() -> None:
    assert set(HEADERS) == set(HANDLERS) | {"NotImplemented"}
    assert set(QUERY) <= set(HANDLERS)


@pytest.mark.parametrize("op", OPS)
def test_every_model_header_is_classified(model: Any, op: str) -> None:
    defined = members(model, op, "header")
    assert defined - set(HEADERS[op]) == set(), "unclassified headers"
    # Refusing a header AWS would ignore for this operation would break clients.
    refused = {name for name, decision in HEADERS[op].items() if decision is REFUSE}
    assert refused - defined == set()


@pytest.mark.parametrize("op", OPS)
def test_every_model_query_parameter_is_classified(model: Any, op: str) -> None:
    defined = members(model, op, "querystring")
    assert defined - set(QUERY.get(op, {})) == set(), "unclassified query parameters"


def test_no_header_table_outside_the_model(model: Any) -> None:
    for op in NOT_IN_MODEL:
        assert op not in model.operation_names
        assert request_headers.REFUSED[op] == frozenset()


@pytest.mark.parametrize(
    ("op", "header"),
    [
        ("PutObject", "x-amz-server-side-encryption"),
        ("PutObject", "x-amz-object-lock-event-hold"),
        ("CreateMultipartUpload", "x-amz-object-lock-event-hold"),
        ("PutObjectLockConfiguration", "x-amz-bucket-object-lock-token"),
        ("PutObject", "x-amz-checksum-sha512"),
        ("GetObject", "x-amz-server-side-encryption-customer-key"),
        ("CopyObject", "x-amz-object-annotation-directive"),
        ("DeleteObject", "x-amz-mfa"),
    ],
)
def test_refused_header(op: str, header: str) -> None:
    with pytest.raises(S3Error) as info:
        check(op, {"host": "h", header: "v"}, {})
    assert (info.value.code, info.value.status) == ("NotImplemented", 501)
    assert info.value.fields == {"Header": header}


def test_refused_trailer() -> None:
    headers = {"x-amz-trailer": "x-amz-checksum-crc32, X-Amz-Checksum-SHA512"}
    with pytest.raises(S3Error) as info:
        check("PutObject", headers, {})
    assert info.value.fields == {"Header": "x-amz-checksum-sha512"}
    check("PutObject", {"x-amz-trailer": "x-amz-checksum-crc32"}, {})


@pytest.mark.parametrize(
    ("op", "header"),
    [
        ("CreateBucket", "x-amz-bucket-object-lock-enabled"),
        ("PutObject", "x-amz-object-lock-mode"),
        ("PutObject", "x-amz-object-lock-retain-until-date"),
        ("PutObject", "x-amz-object-lock-legal-hold"),
        ("CopyObject", "x-amz-object-lock-mode"),
        ("CreateMultipartUpload", "x-amz-object-lock-retain-until-date"),
        ("CreateMultipartUpload", "x-amz-object-lock-legal-hold"),
        ("DeleteObject", "x-amz-bypass-governance-retention"),
        ("DeleteObjects", "x-amz-bypass-governance-retention"),
        ("PutObjectRetention", "x-amz-bypass-governance-retention"),
    ],
)
def test_object_lock_headers_are_honoured(op: str, header: str) -> None:
    check(op, {"host": "h", header: "v"}, {})
    assert header not in request_headers.REFUSED[op]


def test_honoured_and_unknown_headers_pass() -> None:
    check("PutObject", {"x-amz-meta-a": "1", "x-amz-storage-class": "STANDARD", "x-foo": "1"}, {})
    # Defined for PutObject, not for GetObject: ignored there, as AWS does.
    check("GetObject", {"x-amz-server-side-encryption": "AES256", "x-amz-tagging": "a=b"}, {})


def test_unknown_operation_is_a_bug() -> None:
    with pytest.raises(KeyError):
        check("NoSuchOperation", {}, {})


def test_refused_query_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {**request_headers.REFUSED_QUERY, "ListBuckets": frozenset({"bucket-region"})}
    monkeypatch.setattr(request_headers, "REFUSED_QUERY", refused)
    with pytest.raises(S3Error) as info:
        check("ListBuckets", {}, {"bucket-region": "us-east-1"})
    assert info.value.code == "NotImplemented"
    assert info.value.fields == {"ParameterName": "bucket-region"}
    check("ListBuckets", {}, {"prefix": "a"})


def test_expected_owner() -> None:
    check_expected_owner(CANONICAL, CANONICAL)
    check_expected_owner(CANONICAL.upper(), CANONICAL)
    for other in ("cd" * 32, "123456789012"):  # another user; an AWS account id
        with pytest.raises(S3Error) as info:
            check_expected_owner(other, CANONICAL)
        assert (info.value.code, info.value.status) == ("AccessDenied", 403)
    for malformed in ("", "alice", "12345", CANONICAL + "0"):
        with pytest.raises(S3Error) as info:
            check_expected_owner(malformed, CANONICAL)
        assert (info.value.code, info.value.status) == ("InvalidBucketOwnerAWSAccountID", 400)


def _declared_error(headers: dict[str, str], algorithm: str | None, kind: str | None) -> str:
    with pytest.raises(S3Error) as info:
        check_declared(headers, algorithm, kind, 100)
    return info.value.code


def test_complete_declared_headers() -> None:
    check_declared({}, None, None, 100)
    check_declared({"x-amz-mp-object-size": "100", "x-amz-checksum-type": "composite"},
                   "CRC32", "COMPOSITE", 100)  # fmt: skip
    check_declared({"x-amz-checksum-crc32": "AAAAAA=="}, "CRC32", "COMPOSITE", 100)
    assert _declared_error({"x-amz-mp-object-size": "99"}, None, None) == "InvalidRequest"
    assert _declared_error({"x-amz-mp-object-size": "x"}, None, None) == "InvalidArgument"
    assert _declared_error({"x-amz-checksum-type": "FULL_OBJECT"}, "CRC32", "COMPOSITE") == (
        "BadDigest"
    )
    assert _declared_error({"x-amz-checksum-type": "COMPOSITE"}, None, None) == "BadDigest"
    assert _declared_error({"x-amz-checksum-sha1": "x"}, "CRC32", "COMPOSITE") == ("InvalidRequest")
    assert _declared_error({"x-amz-checksum-crc32": "x"}, None, None) == "InvalidRequest"
