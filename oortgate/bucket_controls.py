"""A bucket's Object Ownership setting and its PublicAccessBlock configuration. Pure:
their XML in and out, and the stored forms of the two bucket columns that hold them."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass
from typing import Final

from oortgate import xml
from oortgate.errors import S3Error

OBJECT_WRITER: Final = "ObjectWriter"  # objects belong to their writer (what no setting means)
BUCKET_OWNER_PREFERRED: Final = "BucketOwnerPreferred"  # ... unless written with b-o-f-c
BUCKET_OWNER_ENFORCED: Final = "BucketOwnerEnforced"  # ACLs off: the bucket owner owns all
OWNERSHIPS: Final = (OBJECT_WRITER, BUCKET_OWNER_PREFERRED, BUCKET_OWNER_ENFORCED)


def ownership_header(value: str | None) -> str | None:
    """CreateBucket's x-amz-object-ownership (None: no setting)."""
    if value is not None and value not in OWNERSHIPS:
        raise S3Error("InvalidArgument", f"Invalid x-amz-object-ownership header: {value}",
                      ArgumentName="x-amz-object-ownership", ArgumentValue=value)  # fmt: skip
    return value


def parse_ownership(body: bytes) -> str:
    """An OwnershipControls document: exactly one rule with a known ObjectOwnership."""
    root = xml.parse(body)
    rules = root.findall("Rule")
    if root.tag != "OwnershipControls" or len(rules) != 1:
        raise S3Error("MalformedXML")
    value = xml.child_text(rules[0], "ObjectOwnership")
    if value not in OWNERSHIPS:
        raise S3Error("MalformedXML")
    return value


def ownership_document(ownership: str) -> xml.Node:
    root = xml.Node("OwnershipControls")
    root.add("Rule").add("ObjectOwnership", ownership)
    return root


@dataclass(frozen=True, slots=True)
class PublicAccessBlock:
    # The field names are the XML element names (and the stored JSON keys).
    BlockPublicAcls: bool = False  # refuse new public ACLs (403)
    IgnorePublicAcls: bool = False  # public ACLs grant nothing
    # Stored and returned: they act on bucket policies, which this gateway has not yet.
    BlockPublicPolicy: bool = False
    RestrictPublicBuckets: bool = False

    def dumps(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))


FLAGS: Final = tuple(PublicAccessBlock.__dataclass_fields__)
NO_BLOCK: Final = PublicAccessBlock()


@functools.lru_cache(maxsize=1024)  # read on every request to a bucket that has one
def load_public_access_block(stored: str | None) -> PublicAccessBlock:
    if stored is None:
        return NO_BLOCK
    return PublicAccessBlock(**{k: bool(v) for k, v in json.loads(stored).items() if k in FLAGS})


def parse_public_access_block(body: bytes) -> PublicAccessBlock:
    """A PublicAccessBlockConfiguration document; flags left out are false."""
    root = xml.parse(body)
    if root.tag != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    flags: dict[str, bool] = {}
    for child in root:
        text = (child.text or "").strip().lower()
        if child.tag not in FLAGS or text not in ("true", "false") or child.tag in flags:
            raise S3Error("MalformedXML")
        flags[child.tag] = text == "true"
    return PublicAccessBlock(**flags)


def public_access_block_document(config: PublicAccessBlock) -> xml.Node:
    root = xml.Node("PublicAccessBlockConfiguration")
    for name in FLAGS:
        root.add(name, bool(getattr(config, name)))
    return root
