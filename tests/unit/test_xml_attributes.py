"""oortgate.xml.attributes: GetObjectAttributesResponse as botocore reads it."""

from __future__ import annotations

from oortgate.meta.models import ObjectRecord, PartsBody, Segment
from oortgate.xml.attributes import object_attributes
from tests.unit._shapes import parsed, unknown_elements

ALL = frozenset({"ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize"})
PARTS = tuple(Segment(f"b{n}", 10, n, f"P{n}AAA==") for n in (1, 2, 3))


def _record(checksum: str) -> ObjectRecord:
    return ObjectRecord(1, "k", PartsBody(PARTS), 30, "e" * 32 + "-3", 1.0,
                        checksums={"CRC32": checksum}, storage_class="GLACIER")  # fmt: skip


def _read(body: bytes) -> dict[str, object]:
    assert unknown_elements(body, "GetObjectAttributes") == []
    return parsed(body, "GetObjectAttributes")


def test_every_attribute_of_a_composite_object() -> None:
    out = _read(object_attributes(_record("AAAAAA==-3"), ALL, marker=1, max_parts=1))
    assert out["ETag"] == "e" * 32 + "-3"  # unquoted
    assert out["Checksum"] == {"ChecksumCRC32": "AAAAAA==", "ChecksumType": "COMPOSITE"}
    assert (out["StorageClass"], out["ObjectSize"]) == ("GLACIER", 30)
    assert out["ObjectParts"] == {
        "TotalPartsCount": 3, "PartNumberMarker": 1, "NextPartNumberMarker": 2, "MaxParts": 1,
        "IsTruncated": True, "Parts": [{"PartNumber": 2, "Size": 10, "ChecksumCRC32": "P2AAA=="}],
    }  # fmt: skip


def test_a_full_object_checksum_lists_no_parts() -> None:
    out = _read(object_attributes(_record("AAAAAA=="), ALL, marker=0, max_parts=5))
    assert out["Checksum"]["ChecksumType"] == "FULL_OBJECT"  # type: ignore[index]
    parts = out["ObjectParts"]
    assert "Parts" not in parts and parts["IsTruncated"] is False  # type: ignore[operator,index]


def test_only_what_was_asked() -> None:
    out = _read(object_attributes(_record("AAAAAA=="), frozenset({"ObjectSize"}), marker=0,
                                  max_parts=5))  # fmt: skip
    assert out == {"ObjectSize": 30}
