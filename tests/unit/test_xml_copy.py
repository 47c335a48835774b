"""oortgate.xml.copy: CopyObjectResult and CopyPartResult as botocore reads them."""

from __future__ import annotations

from oortgate.meta.models import BlobBody, ObjectRecord, Part
from oortgate.xml import copy
from tests.unit._shapes import parsed, unknown_elements

ETAG = "0123456789abcdef0123456789abcdef"
T = 1_700_000_000.5


def test_copy_object_result() -> None:
    record = ObjectRecord(1, "k", BlobBody("b", 3), 3, ETAG, T, checksums={"CRC32C": "AAAAAA=="})
    body = copy.copy_object_result(record)
    assert unknown_elements(body, "CopyObject") == []
    result = parsed(body, "CopyObject")["CopyObjectResult"]
    assert result["ETag"] == f'"{ETAG}"' and result["LastModified"].timestamp() == T
    assert result["ChecksumCRC32C"] == "AAAAAA=="


def test_copy_part_result() -> None:
    part = Part(2, "b", 3, ETAG, T, "AAAAAA==")
    body = copy.copy_part_result(part, "CRC32")
    assert unknown_elements(body, "UploadPartCopy") == []
    result = parsed(body, "UploadPartCopy")["CopyPartResult"]
    assert result == {"ETag": f'"{ETAG}"', "LastModified": result["LastModified"],
                      "ChecksumCRC32": "AAAAAA=="}  # fmt: skip
    assert result["LastModified"].timestamp() == T
    bare = parsed(copy.copy_part_result(part, None), "UploadPartCopy")["CopyPartResult"]
    assert "ChecksumCRC32" not in bare
