"""Explicit ACL grants (headers and XML), their stored form, and the policy decisions
they make, together with the bucket's Object Ownership and PublicAccessBlock."""

from __future__ import annotations

import dataclasses

import pytest

from oortgate import acl_grants, policy
from oortgate.acl_grants import EMAIL, ID, URI, Requested
from oortgate.bucket_controls import PublicAccessBlock, load_public_access_block
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket
from oortgate.xml.acl import parse_policy
from oortgate.xml.controls import (
    parse_ownership,
    parse_public_access_block,
    public_access_block_document,
)

ALICE, BOB, CAROL = 1, 2, 3
IDS = {"alice-id": ALICE, "bob-id": BOB}
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def _error(fn: object, code: str) -> S3Error:
    with pytest.raises(S3Error) as ei:
        fn()  # type: ignore[operator]
    assert ei.value.code == code, ei.value
    return ei.value


# -- headers -------------------------------------------------------------------------------


def test_header_grants_quoted_unquoted_and_several() -> None:
    headers = {
        "x-amz-grant-full-control": 'id="alice-id"',
        "x-amz-grant-read": f'id=bob-id, uri={policy.ALL_USERS} , emailAddress="x@y.z"',
    }
    assert acl_grants.header_grants(headers) == [
        Requested(ID, "bob-id", policy.READ),
        Requested(URI, policy.ALL_USERS, policy.READ),
        Requested(EMAIL, "x@y.z", policy.READ),
        Requested(ID, "alice-id", policy.FULL_CONTROL),
    ]
    assert acl_grants.has_grant_headers(headers)
    assert not acl_grants.has_grant_headers({"x-amz-acl": "private"})


@pytest.mark.parametrize("value", ["", "alice", "id", "id=", 'id="a', "name=x", "id=a,,id=b"])
def test_header_grants_malformed(value: str) -> None:
    err = _error(lambda: acl_grants.header_grants({"x-amz-grant-read": value}), "InvalidArgument")
    assert err.message == "Argument format not recognized"
    assert err.fields["ArgumentName"] == "x-amz-grant-read"


# -- AccessControlPolicy XML ---------------------------------------------------------------


def _document(grants: str, owner: str = "<Owner><ID>alice-id</ID></Owner>") -> bytes:
    return (
        f'<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{owner}'
        f"<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    ).encode()


def _grant(grantee: str, permission: str, kind: str | None = None) -> str:
    typed = f' {XSI} xsi:type="{kind}"' if kind else ""
    return (
        f"<Grant><Grantee{typed}>{grantee}</Grantee><Permission>{permission}</Permission></Grant>"
    )


def test_policy_grants_every_grantee_type() -> None:
    body = _document(
        _grant("<ID>bob-id</ID><DisplayName>bob</DisplayName>", "READ", "CanonicalUser")
        + _grant(f"<URI>{policy.AUTHENTICATED_USERS}</URI>", "WRITE_ACP", "Group")
        + _grant("<EmailAddress>a@b.c</EmailAddress>", "READ_ACP", "AmazonCustomerByEmail")
        + _grant("<ID>alice-id</ID>", "FULL_CONTROL")  # type inferred from the child
    )
    owner, grants = parse_policy(body)
    assert owner == "alice-id"
    assert grants == [
        Requested(ID, "bob-id", "READ"),
        Requested(URI, policy.AUTHENTICATED_USERS, "WRITE_ACP"),
        Requested(EMAIL, "a@b.c", "READ_ACP"),
        Requested(ID, "alice-id", "FULL_CONTROL"),
    ]


@pytest.mark.parametrize(
    "body",
    [
        _document(_grant("<ID>bob-id</ID>", "READ"), owner=""),
        _document(_grant("<ID>bob-id</ID>", "EVERYTHING")),
        _document(_grant("<ID></ID>", "READ")),
        _document(_grant("<Name>bob</Name>", "READ")),
        _document(_grant("<ID>bob-id</ID>", "READ", "Robot")),
        _document("<Other/>"),
        _document(_grant("<ID>bob-id</ID>", "READ") * (acl_grants.MAX_GRANTS + 1)),
        b"<AccessControlList/>",
    ],
)
def test_policy_grants_malformed(body: bytes) -> None:
    _error(lambda: parse_policy(body), "MalformedACLError")


# -- resolution and the stored form ---------------------------------------------------------


def test_resolve_drops_duplicates_and_round_trips() -> None:
    requested = [
        Requested(ID, "bob-id", "READ"),
        Requested(URI, policy.LOG_DELIVERY, "WRITE"),
        Requested(ID, "bob-id", "READ"),
    ]
    grants = acl_grants.resolve(requested, IDS.get)
    assert grants == [policy.Grant(BOB, "READ"), policy.Grant(policy.LOG_DELIVERY, "WRITE")]
    stored = policy.dumps_grants(grants)
    assert policy.is_explicit(stored) and not policy.is_explicit("private")
    assert list(policy.grants(stored)) == grants


@pytest.mark.parametrize(
    ("item", "code"),
    [
        (Requested(ID, "nobody", "READ"), "InvalidArgument"),
        (Requested(URI, "http://example.com/everyone", "READ"), "InvalidArgument"),
        (Requested(EMAIL, "a@b.c", "READ"), "UnresolvableGrantByEmailAddress"),
    ],
)
def test_resolve_refuses_unknown_grantees(item: Requested, code: str) -> None:
    _error(lambda: acl_grants.resolve([item], IDS.get), code)


# -- decisions ------------------------------------------------------------------------------


def _explicit(*grants: tuple[str | int, str]) -> str:
    return policy.dumps_grants([policy.Grant(g, p) for g, p in grants])


def test_allows_explicit_user_grants() -> None:
    acl = _explicit((BOB, policy.READ), (CAROL, policy.FULL_CONTROL))
    assert policy.allows(acl, policy.READ, BOB, ALICE)
    assert not policy.allows(acl, policy.WRITE_ACP, BOB, ALICE)
    assert policy.allows(acl, policy.WRITE_ACP, CAROL, ALICE)
    assert not policy.allows(acl, policy.READ, None, ALICE)
    assert policy.allows(_explicit(), policy.WRITE, ALICE, ALICE)  # owners keep every right


def test_allows_groups_and_ignore_public() -> None:
    acl = _explicit((policy.AUTHENTICATED_USERS, policy.READ), (BOB, policy.READ))
    assert policy.allows(acl, policy.READ, CAROL, ALICE)
    assert not policy.allows(acl, policy.READ, None, ALICE)
    assert not policy.allows(acl, policy.READ, CAROL, ALICE, ignore_public=True)
    assert policy.allows(acl, policy.READ, BOB, ALICE, ignore_public=True)
    assert not policy.allows(_explicit((policy.LOG_DELIVERY, policy.WRITE)), "WRITE", None, 1)
    assert policy.is_public(acl) and policy.is_public("public-read")
    assert not policy.is_public(_explicit((BOB, policy.READ))) and not policy.is_public("private")


def _bucket(**kw: object) -> Bucket:
    return dataclasses.replace(Bucket(9, "b", ALICE, "us-east-1", 0.0), **kw)  # type: ignore[arg-type]


def test_bucket_owner_enforced() -> None:
    bucket = _bucket(acl="public-read-write", ownership="BucketOwnerEnforced")
    assert policy.bucket_allows(bucket, policy.WRITE, ALICE)
    assert not policy.bucket_allows(bucket, policy.READ, BOB)
    assert not policy.object_allows(bucket, "public-read", BOB, policy.READ, BOB)
    assert policy.object_owner(bucket, BOB) == ALICE
    assert policy.new_object_owner(bucket, "private", BOB) == ALICE
    policy.admit_acl(bucket, "bucket-owner-full-control", ALICE)
    policy.admit_acl(bucket, _explicit((ALICE, policy.FULL_CONTROL)), ALICE)
    for acl in ("private", "public-read", _explicit((BOB, policy.READ))):
        _error(
            lambda acl=acl: policy.admit_acl(bucket, acl, ALICE), "AccessControlListNotSupported"
        )


def test_bucket_owner_preferred_and_object_writer() -> None:
    preferred = _bucket(ownership="BucketOwnerPreferred")
    assert policy.new_object_owner(preferred, "bucket-owner-full-control", BOB) == ALICE
    assert policy.new_object_owner(preferred, "bucket-owner-read", BOB) == BOB
    for unset in (_bucket(), _bucket(ownership="ObjectWriter")):
        assert policy.new_object_owner(unset, "bucket-owner-full-control", BOB) == BOB
        assert policy.object_owner(unset, BOB) == BOB


def test_public_access_block_flags() -> None:
    stored = PublicAccessBlock(BlockPublicAcls=True, IgnorePublicAcls=True).dumps()
    bucket = _bucket(acl="public-read", public_access_block=stored)
    assert not policy.bucket_allows(bucket, policy.READ, None)
    assert policy.bucket_allows(_bucket(acl="public-read"), policy.READ, None)
    _error(lambda: policy.admit_acl(bucket, "authenticated-read", ALICE), "AccessDenied")
    policy.admit_acl(bucket, _explicit((BOB, policy.READ)), ALICE)
    assert policy.owner_only("bucket-owner-read", ALICE)
    assert not policy.owner_only(_explicit((BOB, policy.READ)), ALICE)


# -- the controls' XML ----------------------------------------------------------------------


def test_parse_ownership() -> None:
    body = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
    assert parse_ownership(body + b"</OwnershipControls>") == "ObjectWriter"
    for bad in (body.replace(b"ObjectWriter", b"Me"), body + body[19:]):
        _error(lambda bad=bad: parse_ownership(bad + b"</OwnershipControls>"), "MalformedXML")


def test_public_access_block_xml_round_trip() -> None:
    body = (
        b"<PublicAccessBlockConfiguration><IgnorePublicAcls>TRUE</IgnorePublicAcls>"
        b"<RestrictPublicBuckets>false</RestrictPublicBuckets></PublicAccessBlockConfiguration>"
    )
    config = parse_public_access_block(body)
    assert config == PublicAccessBlock(IgnorePublicAcls=True)
    assert load_public_access_block(config.dumps()) == config
    rendered = public_access_block_document(config).decode()
    assert "<BlockPublicAcls>false</BlockPublicAcls><IgnorePublicAcls>true" in rendered
    _error(lambda: parse_public_access_block(body.replace(b"TRUE", b"yes")), "MalformedXML")
