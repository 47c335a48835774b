"""oortgate.xml.multipart: the documents of CreateMultipartUpload and
CompleteMultipartUpload as botocore reads them, and the CompleteMultipartUpload request
parser against what botocore sends and against bad documents."""

from __future__ import annotations

import pytest

from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord, PartsBody
from oortgate.xml import multipart
from oortgate.xml.multipart import RequestedPart
from tests.unit._shapes import parsed, request_body, unknown_elements

ETAG = "0123456789abcdef0123456789abcdef"


def test_initiate_result() -> None:
    body = multipart.initiate_result("bkt", "a&b", "up/1")
    assert unknown_elements(body, "CreateMultipartUpload") == []
    out = parsed(body, "CreateMultipartUpload")
    assert (out["Bucket"], out["Key"], out["UploadId"]) == ("bkt", "a&b", "up/1")


@pytest.mark.parametrize(
    ("checksums", "kind"),
    [
        ({}, None),
        ({"CRC32": "AAAAAA==-2"}, "COMPOSITE"),
        ({"CRC64NVME": "AAAAAAAAAAA="}, "FULL_OBJECT"),
    ],
)
def test_complete_result(checksums: dict[str, str], kind: str | None) -> None:
    record = ObjectRecord(1, "k y", PartsBody(()), 9, f"{ETAG}-2", 1.0, checksums=checksums)
    body = multipart.complete_result("bkt", "k y", record)
    assert unknown_elements(body, "CompleteMultipartUpload") == []
    out = parsed(body, "CompleteMultipartUpload")
    assert (out["Location"], out["Bucket"], out["Key"]) == ("/bkt/k y", "bkt", "k y")
    assert out["ETag"] == f'"{ETAG}-2"'
    assert out.get("ChecksumType") == kind
    for algorithm, value in checksums.items():
        assert out["Checksum" + algorithm] == value


def test_parse_complete_reads_what_botocore_sends() -> None:
    parts = [
        {"PartNumber": 2, "ETag": f'"{ETAG}"', "ChecksumCRC32": "AAAAAA=="},
        {"PartNumber": 1, "ETag": ETAG, "ChecksumSHA256": "x" * 44, "ChecksumCRC32C": "BBBBBB=="},
    ]
    params = {"Bucket": "b", "Key": "k", "UploadId": "u", "MultipartUpload": {"Parts": parts}}
    body = request_body("CompleteMultipartUpload", params)
    assert multipart.parse_complete(body) == [
        RequestedPart(2, ETAG, {"CRC32": "AAAAAA=="}),
        RequestedPart(1, ETAG, {"CRC32C": "BBBBBB==", "SHA256": "x" * 44}),
    ]


def test_parse_complete_without_namespace_and_with_no_parts() -> None:
    body = b"<CompleteMultipartUpload><Part><PartNumber> 3 </PartNumber><ETag> e </ETag></Part>"
    assert multipart.parse_complete(body + b"</CompleteMultipartUpload>") == [
        RequestedPart(3, "e", {})
    ]
    assert multipart.parse_complete(b"<CompleteMultipartUpload/>") == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml",
        b"<Complete><Part><PartNumber>1</PartNumber><ETag>e</ETag></Part></Complete>",
        b"<CompleteMultipartUpload><Part><ETag>e</ETag></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>x</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
        b"<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>e</ETag></Part>"
        b"</CompleteMultipartUpload>",
    ],
)
def test_parse_complete_refuses_bad_documents(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        multipart.parse_complete(body)
    assert caught.value.code == "MalformedXML"
