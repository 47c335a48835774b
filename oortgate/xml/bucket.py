"""Bucket documents: CreateBucketConfiguration, LocationConstraint and
VersioningConfiguration."""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.xml.core import Node, child_text, document, parse


def parse_location_constraint(body: bytes) -> str | None:
    """The LocationConstraint of a CreateBucket body (None: the body names none)."""
    if not body.strip():
        return None
    return child_text(parse(body), "LocationConstraint")


def location_document(region: str) -> bytes:
    """GetBucketLocation: us-east-1 is the empty constraint, as AWS answers."""
    return document(Node("LocationConstraint", "" if region == "us-east-1" else region))


VERSIONING_STATUSES = ("Enabled", "Suspended")


def parse_versioning(body: bytes) -> tuple[str | None, str | None]:
    """(Status, MfaDelete) of a VersioningConfiguration (None: left out). A value that
    is neither is IllegalVersioningConfigurationException, as AWS answers."""
    root = parse(body)
    if root.tag != "VersioningConfiguration":
        raise S3Error("MalformedXML")
    status, mfa = child_text(root, "Status"), child_text(root, "MfaDelete")
    if status is not None and status not in VERSIONING_STATUSES:
        raise S3Error("IllegalVersioningConfigurationException",
                      "The Versioning element must be specified")  # fmt: skip
    if mfa is not None and mfa not in ("Enabled", "Disabled"):
        raise S3Error("IllegalVersioningConfigurationException",
                      "The MfaDelete element must be Enabled or Disabled")  # fmt: skip
    return status, mfa


def versioning_document(status: str | None) -> bytes:
    """GetBucketVersioning: no Status for a bucket that was never versioned."""
    root = Node("VersioningConfiguration")
    if status is not None:
        root.add("Status", status)
    return document(root)
