"""oortgate.xml.bucket: CreateBucketConfiguration as botocore sends it, and the
LocationConstraint and VersioningConfiguration documents as botocore reads them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from botocore.handlers import parse_get_bucket_location

from oortgate.errors import S3Error
from oortgate.xml import bucket
from tests.unit._shapes import parsed, request_body, unknown_elements


def test_parse_location_constraint() -> None:
    params = {"Bucket": "b", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}
    assert bucket.parse_location_constraint(request_body("CreateBucket", params)) == "eu-west-1"
    assert bucket.parse_location_constraint(b" ") is None
    assert bucket.parse_location_constraint(b"<CreateBucketConfiguration/>") is None
    with pytest.raises(S3Error) as caught:
        bucket.parse_location_constraint(b"<CreateBucketConfiguration>")
    assert caught.value.code == "MalformedXML"


def _location(body: bytes) -> object:
    """What boto3's get_bucket_location returns for this body (botocore reads that
    document with a handler of its own: the root element's text is the value)."""
    response = SimpleNamespace(raw=b"", content=body)
    found: dict[str, object] = {}
    parse_get_bucket_location(found, response)
    return found["LocationConstraint"]


@pytest.mark.parametrize(("region", "shown"), [("us-east-1", None), ("eu-west-1", "eu-west-1")])
def test_location_document(region: str, shown: str | None) -> None:
    body = bucket.location_document(region)
    assert body.endswith(f"<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                         f"{shown or ''}</LocationConstraint>".encode())  # fmt: skip
    assert _location(body) == shown


def test_versioning_document() -> None:
    body = bucket.versioning_document(None)
    assert unknown_elements(body, "GetBucketVersioning") == []
    assert parsed(body, "GetBucketVersioning") == {}
    body = bucket.versioning_document("Suspended")
    assert unknown_elements(body, "GetBucketVersioning") == []
    assert parsed(body, "GetBucketVersioning") == {"Status": "Suspended"}


@pytest.mark.parametrize(("body", "code"), [
    (b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>",
     "IllegalVersioningConfigurationException"),
    (b"<VersioningConfiguration><MfaDelete>x</MfaDelete></VersioningConfiguration>",
     "IllegalVersioningConfigurationException"),
    (b"<Other/>", "MalformedXML"),
    (b"<VersioningConfiguration>", "MalformedXML"),
])  # fmt: skip
def test_bad_versioning_configuration(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as info:
        bucket.parse_versioning(body)
    assert info.value.code == code


def test_versioning_configuration() -> None:
    doc = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           b"<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>")
    assert bucket.parse_versioning(doc) == ("Enabled", "Disabled")
    assert bucket.parse_versioning(b"<VersioningConfiguration/>") == (None, None)
