"""oortgate.xml.acl: AccessControlPolicy as botocore reads it (GetBucketAcl,
GetObjectAcl), and as botocore sends it (PutBucketAcl, PutObjectAcl)."""

from __future__ import annotations

import pytest

from oortgate import policy
from oortgate.acl_grants import EMAIL, ID, URI, Requested
from oortgate.errors import S3Error
from oortgate.xml import acl
from oortgate.xml.acl import ShownGrant
from tests.unit._shapes import parsed, request_body, unknown_elements

GRANTS = [
    ShownGrant(("c0ffee", "alice"), "FULL_CONTROL"),
    ShownGrant(policy.ALL_USERS, "READ"),
    ShownGrant(("b0b", "bob & co"), "WRITE_ACP"),
]


@pytest.mark.parametrize("operation", ["GetBucketAcl", "GetObjectAcl"])
def test_policy_document(operation: str) -> None:
    body = acl.policy_document(("c0ffee", "alice"), GRANTS)
    assert unknown_elements(body, operation) == []
    out = parsed(body, operation)
    assert out["Owner"] == {"ID": "c0ffee", "DisplayName": "alice"}
    assert out["Grants"] == [
        {"Grantee": {"ID": "c0ffee", "DisplayName": "alice", "Type": "CanonicalUser"},
         "Permission": "FULL_CONTROL"},
        {"Grantee": {"URI": policy.ALL_USERS, "Type": "Group"}, "Permission": "READ"},
        {"Grantee": {"ID": "b0b", "DisplayName": "bob & co", "Type": "CanonicalUser"},
         "Permission": "WRITE_ACP"},
    ]  # fmt: skip


def test_a_policy_document_parses_back() -> None:
    body = acl.policy_document(("c0ffee", "alice"), GRANTS)
    assert acl.parse_policy(body) == ("c0ffee", [
        Requested(ID, "c0ffee", "FULL_CONTROL"), Requested(URI, policy.ALL_USERS, "READ"),
        Requested(ID, "b0b", "WRITE_ACP"),
    ])  # fmt: skip
    assert b"<AccessControlList></AccessControlList>" not in acl.policy_document(("i", "n"), [])


@pytest.mark.parametrize("operation", ["PutBucketAcl", "PutObjectAcl"])
def test_parse_policy_reads_what_botocore_sends(operation: str) -> None:
    grants = [
        {"Grantee": {"Type": "CanonicalUser", "ID": "b0b"}, "Permission": "READ"},
        {"Grantee": {"Type": "Group", "URI": policy.AUTHENTICATED_USERS}, "Permission": "WRITE"},
        {"Grantee": {"Type": "AmazonCustomerByEmail", "EmailAddress": "a@b.c"},
         "Permission": "READ_ACP"},
    ]  # fmt: skip
    params = {"Bucket": "b", "AccessControlPolicy": {"Grants": grants, "Owner": {"ID": "c0ffee"}}}
    if operation == "PutObjectAcl":
        params["Key"] = "k"
    owner, found = acl.parse_policy(request_body(operation, params))
    assert owner == "c0ffee"
    assert found == [Requested(ID, "b0b", "READ"), Requested(URI, policy.AUTHENTICATED_USERS,
                     "WRITE"), Requested(EMAIL, "a@b.c", "READ_ACP")]  # fmt: skip


@pytest.mark.parametrize(("body", "code"), [(b"", "MalformedXML"), (b"<x", "MalformedXML"),
                                            (b"<Other/>", "MalformedACLError")])  # fmt: skip
def test_parse_policy_refuses_what_is_no_policy(body: bytes, code: str) -> None:
    with pytest.raises(S3Error) as caught:
        acl.parse_policy(body)
    assert caught.value.code == code
