"""ops/bucket_controls.py: ObjectOwnership and PublicAccessBlock, owner-only settings."""

from __future__ import annotations

from ._client import Client, Harness

ENFORCED = (
    b"<OwnershipControls><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership>"
    b"</Rule></OwnershipControls>"
)
PREFERRED = ENFORCED.replace(b"BucketOwnerEnforced", b"BucketOwnerPreferred")
BLOCK_ALL = (
    b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
    b"<IgnorePublicAcls>true</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>"
    b"<RestrictPublicBuckets>true</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
)


def test_ownership_controls_round_trip(harness: Harness, owner: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert owner.request("GET", path, "ownershipControls").error == (
        404, "OwnershipControlsNotFoundError",
    )  # fmt: skip
    assert owner.request("PUT", path, "ownershipControls", PREFERRED).status == 200
    got = owner.request("GET", path, "ownershipControls")
    assert got.status == 200
    assert got.xml().findtext("Rule/ObjectOwnership") == "BucketOwnerPreferred"
    stored = harness.get_bucket(bucket)
    assert stored is not None and stored.ownership == "BucketOwnerPreferred"
    assert owner.request("DELETE", path, "ownershipControls").status == 204
    assert owner.request("GET", path, "ownershipControls").status == 404


def test_ownership_controls_refuse_bad_xml(owner: Client, bucket: str) -> None:
    bad = ENFORCED.replace(b"BucketOwnerEnforced", b"Whoever")
    assert owner.request("PUT", f"/{bucket}", "ownershipControls", bad).error == (
        400, "MalformedXML",
    )  # fmt: skip


def test_enforcing_ownership_keeps_acl_grants_from_vanishing(
    harness: Harness, owner: Client
) -> None:
    harness.bucket(owner, "shared", acl="public-read")
    reply = owner.request("PUT", "/shared", "ownershipControls", ENFORCED)
    assert reply.error == (400, "InvalidBucketAclWithObjectOwnership")
    stored = harness.get_bucket("shared")
    assert stored is not None and stored.ownership != "BucketOwnerEnforced"


def test_controls_are_owner_only(other: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert other.request("GET", path, "ownershipControls").error == (403, "AccessDenied")
    assert other.request("PUT", path, "ownershipControls", ENFORCED).error == (403, "AccessDenied")
    assert other.request("PUT", path, "publicAccessBlock", BLOCK_ALL).error == (403, "AccessDenied")
    assert other.request("DELETE", path, "publicAccessBlock").error == (403, "AccessDenied")


def test_public_access_block_round_trip(harness: Harness, owner: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert owner.request("GET", path, "publicAccessBlock").error == (
        404, "NoSuchPublicAccessBlockConfiguration",
    )  # fmt: skip
    assert owner.request("PUT", path, "publicAccessBlock", BLOCK_ALL).status == 200
    got = owner.request("GET", path, "publicAccessBlock")
    assert got.status == 200
    assert got.xml().findtext("BlockPublicAcls") == "true"
    assert got.xml().findtext("RestrictPublicBuckets") == "true"
    assert owner.request("DELETE", path, "publicAccessBlock").status == 204
    stored = harness.get_bucket(bucket)
    assert stored is not None and stored.public_access_block is None


def test_public_access_block_refuses_malformed_xml(owner: Client, bucket: str) -> None:
    reply = owner.request("PUT", f"/{bucket}", "publicAccessBlock", b"<nope")
    assert reply.error == (400, "MalformedXML")
