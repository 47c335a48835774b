"""oortgate.bucket_policy.parse: what PutBucketPolicy accepts, and AWS's MalformedPolicy
message for what it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oortgate.bucket_policy import PolicyError, parse_policy
from oortgate.bucket_policy.parse import ALLOW, DENY, MAX_POLICY_BYTES

OWNER_ID = "a" * 64
OTHER_ID = "B" * 64


def doc(*statements: dict[str, Any], **top: Any) -> bytes:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top}).encode()


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::bkt/*"}  # fmt: skip
    return {**base, **fields}


def refused(body: bytes, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(body, "bkt")
    assert str(info.value) == message


def test_a_public_read_policy() -> None:
    policy = parse_policy(doc(stmt(Sid="PublicRead")), "bkt")
    (only,) = policy.statements
    assert (only.effect, only.sid, only.actions, only.resources) == (
        ALLOW, "PublicRead", ("s3:getobject",), ("arn:aws:s3:::bkt/*",),
    )  # fmt: skip
    assert only.principals.everyone and not only.not_principal
    assert policy.version == "2012-10-17"


def test_lists_single_values_and_a_single_statement_object() -> None:
    body = json.dumps({"Statement": stmt(Effect="Deny", Action=["s3:Get*", "s3:PutObject"],
                                         Resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"])})
    policy = parse_policy(body.encode(), "bkt")
    assert policy.version == "2008-10-17"  # AWS's default
    assert policy.statements[0].effect == DENY
    assert policy.statements[0].actions == ("s3:get*", "s3:putobject")


@pytest.mark.parametrize("principal", [
    {"AWS": "*"},
    {"CanonicalUser": OWNER_ID},
    {"AWS": OTHER_ID},
    {"AWS": f"arn:aws:iam::{OTHER_ID}:root"},
    {"AWS": "arn:aws:iam:::user/alice"},
    {"AWS": [f"arn:aws:iam::{OWNER_ID}:user/bob", "arn:aws:iam:::user/alice"]},
])  # fmt: skip
def test_principals_accepted(principal: Any) -> None:
    parse_policy(doc(stmt(Principal=principal)), "bkt")


def test_principals_match_users() -> None:
    principal = {"AWS": [f"arn:aws:iam::{OWNER_ID}:user/bob", "arn:aws:iam:::user/alice"],
                 "CanonicalUser": OTHER_ID}  # fmt: skip
    principals = parse_policy(doc(stmt(Principal=principal)), "bkt").statements[0].principals
    assert principals.include(OTHER_ID.lower(), "anyone")
    assert principals.include("c" * 64, "alice")
    assert principals.include(OWNER_ID, "bob")
    assert not principals.include("c" * 64, "bob")  # bob of another "account"
    assert not principals.include(None, None)


@pytest.mark.parametrize("principal", [
    "alice", {"AWS": "123456789012"}, {"AWS": "arn:aws:iam::123456789012:root"},
    {"Service": "s3.amazonaws.com"}, {"AWS": []}, {}, {"AWS": "arn:aws:iam::x:role/r"},
    {"CanonicalUser": "*"},
])  # fmt: skip
def test_invalid_principals(principal: Any) -> None:
    refused(doc(stmt(Principal=principal)), "Invalid principal in policy")


def test_not_principal_only_with_deny() -> None:
    parse_policy(doc(stmt(Effect="Deny", Principal=None, NotPrincipal={"AWS": OWNER_ID})),
                 "bkt")  # fmt: skip
    body = doc({k: v for k, v in stmt(NotPrincipal={"AWS": OWNER_ID}).items() if k != "Principal"})
    refused(body, "Invalid principal in policy")


@pytest.mark.parametrize(("body", "message"), [
    (b"", "Policies must be valid JSON and the first byte must be '{'"),
    (b' {"Statement": []}', "Policies must be valid JSON and the first byte must be '{'"),
    (b"[1]", "Policies must be valid JSON and the first byte must be '{'"),
    (b"{nope", "This policy contains invalid Json"),
    (b'{"Statement": [], "Statement": []}', "This policy contains invalid Json"),
    (b"{\xff}", "This policy contains invalid Json"),
    (b'{"Version": "2012-10-17"}', "Missing required field Statement"),
    (b'{"Statement": []}', "Could not parse the policy: Statement is empty!"),
    (b'{"Version": "2020-01-01", "Statement": []}',
     "The policy must contain a valid version string"),
    (b'{"Statement": [], "Extra": 1}', "Unknown field Extra"),
    (b"{" + b" " * MAX_POLICY_BYTES + b"}", "Policy exceeds the maximum allowed document size."),
])  # fmt: skip
def test_malformed_documents(body: bytes, message: str) -> None:
    refused(body, message)


def _without(field: str) -> dict[str, Any]:
    return {k: v for k, v in stmt().items() if k != field}


@pytest.mark.parametrize(("statement", "message"), [
    (_without("Effect"), "Missing required field Effect"),
    (stmt(Effect="Maybe"), "Invalid effect: Maybe"),
    (_without("Principal"), "Missing required field Principal"),
    (_without("Action"), "Missing required field Action"),
    (_without("Resource"), "Missing required field Resource"),
    (stmt(NotAction="s3:PutObject"), "Statement cannot contain both Action and NotAction"),
    (stmt(Action="s3:GetObjekt"), "Policy has invalid action"),
    (stmt(Action="s3:Fly*"), "Policy has invalid action"),
    (stmt(Action="ec2:RunInstances"), "Policy has invalid action"),
    (stmt(Resource="arn:aws:s3:::other/*"), "Policy has invalid resource"),
    (stmt(Resource="bkt/*"), "Policy has invalid resource"),
    (stmt(Resource="arn:aws:s3:::bkt"), "Action does not apply to any resource(s) in statement"),
    (stmt(Action="s3:ListBucket"), "Action does not apply to any resource(s) in statement"),
    (stmt(Sid="not-alnum"), "Statement IDs (SID) must be alpha-numeric."),
    (stmt(Unknown=1), "Unknown field Unknown"),
    (stmt(Action=[]), "This policy contains invalid Json"),
    (stmt(Action=[1]), "This policy contains invalid Json"),
    ("not an object", "This policy contains invalid Json"),
])  # fmt: skip
def test_malformed_statements(statement: Any, message: str) -> None:
    refused(doc(statement), message)


def test_sids_are_unique() -> None:
    message = "Statement IDs (SID) in a single policy must be unique."
    refused(doc(stmt(Sid="A"), stmt(Sid="A")), message)


@pytest.mark.parametrize(("action", "resource"), [
    ("s3:*", "arn:aws:s3:::bkt"),  # a pattern: not checked against the resources
    ("*", "arn:aws:s3:::bkt/*"),
    ("S3:getOBJECT", "arn:aws:s3:::bkt/photos/*"),  # actions compare without case
    ("s3:ListBucket", "arn:aws:s3:::bkt"),
    ("s3:GetObject", "arn:aws:s3:::bk?/*"),
    ("s3:GetObject", "arn:aws:s3:::*"),
    ("s3:GetObjectVersion", "arn:aws:s3:::bkt/*"),  # AWS's, never asked here
])  # fmt: skip
def test_actions_and_resources_accepted(action: str, resource: str) -> None:
    parse_policy(doc(stmt(Action=action, Resource=resource)), "bkt")


@pytest.mark.parametrize(("condition", "message"), [
    ({"StringFuzzy": {"aws:UserAgent": "x"}}, "Invalid Condition type : StringFuzzy"),
    ({"ForSomeValues:StringLike": {"s3:prefix": "x"}},
     "Invalid Condition type : ForSomeValues:StringLike"),
    ({"NullIfExists": {"aws:UserAgent": "x"}}, "Invalid Condition type : NullIfExists"),
    ({"StringEquals": {"UserAgent": "x"}}, "Policy has an invalid condition key"),
    ({"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}}, "Invalid IP address in Conditions"),
    ({"StringEquals": {"aws:SourceIp": "nowhere"}}, "Invalid IP address in Conditions"),
    ({"StringEquals": "x"}, "This policy contains invalid Json"),
    ({"StringEquals": {"aws:UserAgent": {"a": 1}}}, "This policy contains invalid Json"),
    ({"StringEquals": {"aws:UserAgent": []}}, "This policy contains invalid Json"),
    ([], "This policy contains invalid Json"),
])  # fmt: skip
def test_malformed_conditions(condition: Any, message: str) -> None:
    refused(doc(stmt(Condition=condition)), message)


def test_conditions_parsed() -> None:
    condition = {
        "ForAnyValue:StringLikeIfExists": {"S3:RequestObjectTagKeys": ["a*", "b"]},
        "NumericLessThan": {"s3:max-keys": 10},
        "Bool": {"aws:SecureTransport": False},
    }
    parsed = parse_policy(doc(stmt(Action="s3:*", Condition=condition)), "bkt")
    first, second, third = parsed.statements[0].conditions
    assert (first.operator, first.key, first.values, first.if_exists, first.qualifier) == (
        "StringLike", "s3:requestobjecttagkeys", ("a*", "b"), True, "ForAnyValue",
    )  # fmt: skip
    assert (second.operator, second.values) == ("NumericLessThan", ("10",))
    assert (third.operator, third.values) == ("Bool", ("false",))
