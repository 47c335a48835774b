"""Bucket documents: CreateBucketConfiguration, LocationConstraint and
VersioningConfiguration."""

from __future__ import annotations

from oortgate.xml.core import Node, child_text, document, parse


def parse_location_constraint(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucket body (None: the body names none)."""
    if not body.strip():
        return None
    return child_text(parse(body), "LocationConstraint")


def location_document(region: str) -> bytes:
    """GetBucketLocation: us-east-1 is the empty constraint, as AWS answers."""
    return document(Node("LocationConstraint", "" if region == "us-east-1" else region))


def versioning_document() -> bytes:
    """GetBucketVersioning of a bucket that was never versioned: no Status."""
    return document(Node("VersioningConfiguration"))
