"""ops/acl.py: Get/PutBucketAcl, Get/PutObjectAcl and the ACL headers of a write."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from ._client import Client, Harness

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def _grants(reply_xml: ET.Element) -> list[tuple[str, str]]:
    found = []
    for grant in reply_xml.iterfind("AccessControlList/Grant"):
        who = grant.findtext("Grantee/URI") or grant.findtext("Grantee/ID") or ""
        found.append((who, grant.findtext("Permission") or ""))
    return found


def _policy(owner_id: str, grantee_id: str, permission: str) -> bytes:
    xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    return (
        f"<AccessControlPolicy><Owner><ID>{owner_id}</ID></Owner><AccessControlList>"
        f'<Grant><Grantee {xsi} xsi:type="CanonicalUser"><ID>{grantee_id}</ID></Grantee>'
        f"<Permission>{permission}</Permission></Grant></AccessControlList>"
        "</AccessControlPolicy>"
    ).encode()


def test_bucket_acl_canned(harness: Harness, owner: Client, bucket: str) -> None:
    got = owner.request("GET", f"/{bucket}", "acl")
    assert got.status == 200
    assert _grants(got.xml()) == [(owner.canonical_id, "FULL_CONTROL")]
    put = owner.request("PUT", f"/{bucket}", "acl", headers={"x-amz-acl": "public-read"})
    assert put.status == 200
    stored = harness.get_bucket(bucket)
    assert stored is not None and stored.acl == "public-read"
    shown = _grants(owner.request("GET", f"/{bucket}", "acl").xml())
    assert shown == [(owner.canonical_id, "FULL_CONTROL"), (ALL_USERS, "READ")]


def test_bucket_acl_from_a_policy_document(owner: Client, other: Client, bucket: str) -> None:
    body = _policy(owner.canonical_id, other.canonical_id, "READ")
    assert owner.request("PUT", f"/{bucket}", "acl", body).status == 200
    assert other.request("GET", f"/{bucket}", "list-type=2").status == 200  # the grant works
    assert other.put(bucket, "k").error == (403, "AccessDenied")  # READ only


def test_put_acl_errors(owner: Client, other: Client, bucket: str) -> None:
    path = f"/{bucket}"
    assert owner.request("PUT", path, "acl").error == (400, "MissingSecurityHeader")
    bad = owner.request("PUT", path, "acl", headers={"x-amz-acl": "everyone"})
    assert bad.error == (400, "InvalidArgument")
    both = {"x-amz-acl": "private", "x-amz-grant-read": f'id="{other.canonical_id}"'}
    assert owner.request("PUT", path, "acl", headers=both).error == (400, "InvalidRequest")
    # An ACL cannot hand the bucket to another owner.
    given = _policy(other.canonical_id, other.canonical_id, "FULL_CONTROL")
    assert owner.request("PUT", path, "acl", given).error == (403, "AccessDenied")
    not_xml = owner.request("PUT", path, "acl", b"<AccessControlPolicy>")
    assert not_xml.error == (400, "MalformedXML")
    not_a_policy = owner.request("PUT", path, "acl", b"<Something/>")
    assert not_a_policy.error == (400, "MalformedACLError")
    assert other.request("GET", path, "acl").error == (403, "AccessDenied")
    assert other.request("PUT", path, "acl", headers={"x-amz-acl": "private"}).status == 403


def test_object_acl(owner: Client, other: Client, anon: Client, bucket: str) -> None:
    owner.put(bucket, "k", b"data", x_amz_acl="public-read")
    shown = _grants(owner.get(bucket, "k", "acl").xml())
    assert shown == [(owner.canonical_id, "FULL_CONTROL"), (ALL_USERS, "READ")]
    assert anon.get(bucket, "k").status == 200
    put = owner.request("PUT", f"/{bucket}/k", "acl", headers={"x-amz-acl": "private"})
    assert put.status == 200
    assert anon.get(bucket, "k").error == (403, "AccessDenied")
    grant = {"x-amz-grant-read": f'id="{other.canonical_id}"'}
    assert owner.request("PUT", f"/{bucket}/k", "acl", headers=grant).status == 200
    assert other.get(bucket, "k").status == 200
    assert other.get(bucket, "k", "acl").error == (403, "AccessDenied")  # READ, not READ_ACP


def test_object_acl_of_a_missing_key(owner: Client, bucket: str) -> None:
    assert owner.get(bucket, "absent", "acl").error == (404, "NoSuchKey")
    put = owner.request("PUT", f"/{bucket}/absent", "acl", headers={"x-amz-acl": "private"})
    assert put.error == (404, "NoSuchKey")
