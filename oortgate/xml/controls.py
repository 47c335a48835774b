"""A bucket's OwnershipControls and PublicAccessBlockConfiguration documents."""

from __future__ import annotations

from oortgate.bucket_controls import FLAGS, OWNERSHIPS, PublicAccessBlock
from oortgate.errors import S3Error
from oortgate.xml.core import Node, child_text, document, parse


def parse_ownership(body: bytes) -> str:
    """An OwnershipControls document: exactly one rule with a known ObjectOwnership."""
    root = parse(body)
    rules = root.findall("Rule")
    if root.tag != "OwnershipControls" or len(rules) != 1:
        raise S3Error("MalformedXML")
    value = child_text(rules[0], "ObjectOwnership")
    if value not in OWNERSHIPS:
        raise S3Error("MalformedXML")
    return value


def ownership_document(ownership: str) -> bytes:
    root = Node("OwnershipControls")
    root.add("Rule").add("ObjectOwnership", ownership)
    return document(root)


def parse_public_access_block(body: bytes) -> PublicAccessBlock:
    """A PublicAccessBlockConfiguration document; flags left out are false."""
    root = parse(body)
    if root.tag != "PublicAccessBlockConfiguration":
        raise S3Error("MalformedXML")
    flags: dict[str, bool] = {}
    for child in root:
        text = (child.text or "").strip().lower()
        if child.tag not in FLAGS or text not in ("true", "false") or child.tag in flags:
            raise S3Error("MalformedXML")
        flags[child.tag] = text == "true"
    return PublicAccessBlock(**flags)


def policy_status_document(is_public: bool) -> bytes:
    root = Node("PolicyStatus")
    root.add("IsPublic", is_public)
    return document(root)


def public_access_block_document(config: PublicAccessBlock) -> bytes:
    root = Node("PublicAccessBlockConfiguration")
    for name in FLAGS:
        root.add(name, bool(getattr(config, name)))
    return document(root)
