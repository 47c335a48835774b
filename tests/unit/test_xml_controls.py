"""oortgate.xml.controls: OwnershipControls and PublicAccessBlockConfiguration as botocore
reads them (Get...) and sends them (Put...)."""

from __future__ import annotations

import pytest

from oortgate.bucket_controls import OWNERSHIPS, PublicAccessBlock
from oortgate.errors import S3Error
from oortgate.xml import controls
from tests.unit._shapes import parsed, request_body, unknown_elements


@pytest.mark.parametrize("ownership", OWNERSHIPS)
def test_ownership_round_trip_through_botocore(ownership: str) -> None:
    body = controls.ownership_document(ownership)
    assert unknown_elements(body, "GetBucketOwnershipControls") == []
    out = parsed(body, "GetBucketOwnershipControls")
    assert out["OwnershipControls"] == {"Rules": [{"ObjectOwnership": ownership}]}
    sent = request_body("PutBucketOwnershipControls", {"Bucket": "b", "OwnershipControls":
                        {"Rules": [{"ObjectOwnership": ownership}]}})  # fmt: skip
    assert controls.parse_ownership(sent) == ownership


@pytest.mark.parametrize(
    "body",
    [
        b"<OwnershipControls/>",
        b"<OwnershipControls><Rule><ObjectOwnership>Me</ObjectOwnership></Rule></OwnershipControls>",
        b"<Other><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></Other>",
        b"<OwnershipControls><Rule/><Rule/></OwnershipControls>",
    ],
)
def test_parse_ownership_refuses_bad_documents(body: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        controls.parse_ownership(body)
    assert caught.value.code == "MalformedXML"


CONFIG = PublicAccessBlock(BlockPublicAcls=True, RestrictPublicBuckets=True)
BOTO = {"BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
        "RestrictPublicBuckets": True}  # fmt: skip


def test_public_access_block_through_botocore() -> None:
    body = controls.public_access_block_document(CONFIG)
    assert unknown_elements(body, "GetPublicAccessBlock") == []
    assert parsed(body, "GetPublicAccessBlock")["PublicAccessBlockConfiguration"] == BOTO
    sent = request_body("PutPublicAccessBlock", {"Bucket": "b",
                        "PublicAccessBlockConfiguration": BOTO})  # fmt: skip
    assert controls.parse_public_access_block(sent) == CONFIG
    assert controls.parse_public_access_block(b"<PublicAccessBlockConfiguration/>") == (
        PublicAccessBlock()
    )


@pytest.mark.parametrize(
    "inner",
    ["<BlockPublicAcls>yes</BlockPublicAcls>", "<Unknown>true</Unknown>",
     "<BlockPublicAcls>true</BlockPublicAcls><BlockPublicAcls>true</BlockPublicAcls>"],
)  # fmt: skip
def test_parse_public_access_block_refuses_bad_flags(inner: str) -> None:
    body = f"<PublicAccessBlockConfiguration>{inner}</PublicAccessBlockConfiguration>"
    with pytest.raises(S3Error) as caught:
        controls.parse_public_access_block(body.encode())
    assert caught.value.code == "MalformedXML"
