"""oortgate.xml.tagging: Tagging as botocore reads it (Get*Tagging) and sends it
(Put*Tagging)."""

from __future__ import annotations

import pytest

from oortgate.errors import S3Error
from oortgate.xml import tagging
from tests.unit._shapes import parsed, request_body, unknown_elements

TAGS = {"a": "", "b&c": "<1>", "é 文": "x+y=z"}


@pytest.mark.parametrize("operation", ["GetObjectTagging", "GetBucketTagging"])
def test_tagging_document(operation: str) -> None:
    body = tagging.tagging_document(TAGS)
    assert unknown_elements(body, operation) == []
    assert parsed(body, operation)["TagSet"] == [{"Key": k, "Value": v} for k, v in TAGS.items()]
    assert b"<TagSet/>" in tagging.tagging_document({})


@pytest.mark.parametrize("operation", ["PutObjectTagging", "PutBucketTagging"])
def test_parse_tagging_reads_what_botocore_sends(operation: str) -> None:
    tag_set = [{"Key": k, "Value": v} for k, v in TAGS.items()]
    params = {"Bucket": "b", "Tagging": {"TagSet": tag_set}}
    if operation == "PutObjectTagging":
        params["Key"] = "k"
    assert tagging.parse_tagging(request_body(operation, params)) == list(TAGS.items())


def test_parse_tagging_keeps_order_and_duplicates_for_the_validator() -> None:
    body = b"<Tagging><TagSet><Tag><Key>z</Key><Value>1</Value></Tag>"
    body += b"<Tag><Key>z</Key><Value></Value></Tag></TagSet></Tagging>"
    assert tagging.parse_tagging(body) == [("z", "1"), ("z", "")]


@pytest.mark.parametrize(
    "body",
    [b"", b"<Tagging/>", b"<Other><TagSet/></Other>",
     b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
     b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"],
)  # fmt: skip
def test_parse_tagging_refuses_bad_documents(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        tagging.parse_tagging(body)
    assert caught.value.code == "MalformedXML"
