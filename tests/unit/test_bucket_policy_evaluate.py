"""oortgate.bucket_policy.evaluate: a policy's decision on a request (explicit Deny wins,
then Allow, else nothing) and AWS's definition of a public policy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oortgate.bucket_policy import Decision, Request, decide, is_public, parse_policy

ALICE = "a" * 64
BOB = "b" * 64
OBJECT = "arn:aws:s3:::bkt/photos/cat.jpg"


def policy(*statements: dict[str, Any]) -> Any:
    body = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return parse_policy(body.encode(), "bkt")


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                            "Resource": "arn:aws:s3:::bkt/*"}  # fmt: skip
    return {**base, **fields}


def request(action: str = "s3:GetObject", resource: str = OBJECT, who: str | None = ALICE,
            name: str | None = "alice", **context: str) -> Request:  # fmt: skip
    keys = {k.replace("_", ":", 1).lower(): (v,) for k, v in context.items()}
    return Request(action, resource, who, name if who else None, keys)


def test_allow_deny_and_nothing() -> None:
    assert decide(policy(stmt()), request()) is Decision.ALLOW
    assert decide(policy(stmt()), request(who=None)) is Decision.ALLOW  # anonymous
    assert decide(policy(stmt()), request("s3:PutObject")) is Decision.NONE
    assert decide(policy(stmt()), request(resource="arn:aws:s3:::bkt")) is Decision.NONE
    assert decide(policy(stmt(Effect="Deny")), request()) is Decision.DENY


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_an_explicit_deny_wins_whatever_the_order(order: tuple[int, int]) -> None:
    deny = stmt(Sid="Deny", Effect="Deny", Resource="arn:aws:s3:::bkt/photos/*")
    both = [stmt(Sid="Allow"), deny]
    decided = policy(*(both[i] for i in order))
    assert decide(decided, request()) is Decision.DENY
    assert decide(decided, request(resource="arn:aws:s3:::bkt/docs/a")) is Decision.ALLOW


def test_principals() -> None:
    only_bob = policy(stmt(Principal={"CanonicalUser": BOB}))
    assert decide(only_bob, request(who=BOB, name="bob")) is Decision.ALLOW
    assert decide(only_bob, request()) is Decision.NONE
    assert decide(only_bob, request(who=None)) is Decision.NONE
    by_name = policy(stmt(Principal={"AWS": "arn:aws:iam:::user/alice"}))
    assert decide(by_name, request()) is Decision.ALLOW
    assert decide(by_name, request(who=BOB, name="bob")) is Decision.NONE


def test_not_principal_not_action_not_resource() -> None:
    everyone_but_alice = policy(stmt(Effect="Deny", Principal=None,
                                     NotPrincipal={"CanonicalUser": ALICE}))  # fmt: skip
    assert decide(everyone_but_alice, request()) is Decision.NONE
    assert decide(everyone_but_alice, request(who=BOB, name="bob")) is Decision.DENY
    assert decide(everyone_but_alice, request(who=None)) is Decision.DENY
    all_but_reads = policy(stmt(Effect="Deny", Action=None, NotAction="s3:Get*"))
    assert decide(all_but_reads, request()) is Decision.NONE
    assert decide(all_but_reads, request("s3:DeleteObject")) is Decision.DENY
    outside_photos = policy(stmt(Resource=None, NotResource="arn:aws:s3:::bkt/photos/*"))
    assert decide(outside_photos, request()) is Decision.NONE
    assert decide(outside_photos, request(resource="arn:aws:s3:::bkt/docs/a")) is Decision.ALLOW


def test_actions_and_resources_match_wildcards() -> None:
    reads = policy(stmt(Action="s3:Get*", Resource="arn:aws:s3:::bkt/photos/*.jpg"))
    assert decide(reads, request("s3:GetObjectTagging")) is Decision.ALLOW
    assert decide(reads, request("s3:PutObject")) is Decision.NONE
    assert decide(reads, request(resource="arn:aws:s3:::bkt/photos/cat.png")) is Decision.NONE
    # Resource ARNs compare with case, actions without.
    assert decide(reads, request(resource="arn:aws:s3:::bkt/Photos/cat.jpg")) is Decision.NONE
    assert decide(policy(stmt(Action="S3:GETOBJECT")), request()) is Decision.ALLOW


def test_conditions_decide_a_statement() -> None:
    https_only = policy(stmt(), stmt(Effect="Deny", Action="s3:*",
                                     Condition={"Bool": {"aws:SecureTransport": "false"}}))
    assert decide(https_only, request(aws_SecureTransport="true")) is Decision.ALLOW
    assert decide(https_only, request(aws_SecureTransport="false")) is Decision.DENY
    office = policy(stmt(Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    assert decide(office, request(aws_SourceIp="192.0.2.9")) is Decision.ALLOW
    assert decide(office, request(aws_SourceIp="203.0.113.9")) is Decision.NONE


def test_public_allows_off_keeps_only_denies() -> None:
    both = policy(stmt(), stmt(Effect="Deny", Resource="arn:aws:s3:::bkt/secret/*"))
    assert decide(both, request(), public_allows=False) is Decision.NONE
    secret = request(resource="arn:aws:s3:::bkt/secret/x")
    assert decide(both, secret, public_allows=False) is Decision.DENY


@pytest.mark.parametrize(("statement", "public"), [
    (stmt(), True),
    (stmt(Principal={"AWS": "*"}), True),
    (stmt(Principal={"CanonicalUser": ALICE}), False),
    (stmt(Effect="Deny"), False),
    (stmt(Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), False),
    (stmt(Condition={"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "0.0.0.0/1"]}}), True),
    (stmt(Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}), False),
    (stmt(Condition={"IpAddress": {"aws:SourceIp": "2001:db8::/16"}}), True),
    (stmt(Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}), True),
    (stmt(Condition={"IpAddressIfExists": {"aws:SourceIp": "192.0.2.0/24"}}), True),
    (stmt(Condition={"StringEquals": {"aws:userid": ALICE}}), False),
    (stmt(Condition={"StringLike": {"aws:userid": "a*"}}), True),
    (stmt(Condition={"StringLike": {"aws:SourceArn": "arn:aws:sns:x"}}), False),
    (stmt(Condition={"Bool": {"aws:SecureTransport": "true"}}), True),
    (stmt(Condition={"StringEquals": {"aws:Referer": "https://example.com/"}}), True),
])  # fmt: skip
def test_is_public(statement: dict[str, Any], public: bool) -> None:
    assert is_public(policy(statement)) is public
    # A policy is public as soon as one statement is.
    assert is_public(policy(stmt(Principal={"CanonicalUser": BOB}), statement)) is public


def test_policy_variables_in_resources_and_conditions() -> None:
    home = policy(stmt(Principal={"AWS": "arn:aws:iam:::user/alice"},
                       Resource="arn:aws:s3:::bkt/home/${aws:username}/*"),
                  stmt(Sid="List", Action="s3:ListBucket", Resource="arn:aws:s3:::bkt",
                       Condition={"StringLike": {"s3:prefix": "home/${aws:username}/*"}}))
    mine = request(resource="arn:aws:s3:::bkt/home/alice/a", aws_username="alice")
    assert decide(home, mine) is Decision.ALLOW
    theirs = request(resource="arn:aws:s3:::bkt/home/bob/a", aws_username="alice")
    assert decide(home, theirs) is Decision.NONE
    listing = request("s3:ListBucket", "arn:aws:s3:::bkt", BOB, "bob",
                      aws_username="bob", s3_prefix="home/bob/x")  # fmt: skip
    assert decide(home, listing) is Decision.ALLOW
    other_prefix = request("s3:ListBucket", "arn:aws:s3:::bkt", BOB, "bob",
                           aws_username="bob", s3_prefix="home/alice/")  # fmt: skip
    assert decide(home, other_prefix) is Decision.NONE
    # Anonymous callers have no aws:username: the element matches nothing.
    assert decide(home, request("s3:ListBucket", "arn:aws:s3:::bkt", None,
                                s3_prefix="home//x")) is Decision.NONE  # fmt: skip


def test_a_filled_in_value_is_no_wildcard() -> None:
    home = policy(stmt(Resource="arn:aws:s3:::bkt/home/${aws:username}/*"))
    sneaky = request(resource="arn:aws:s3:::bkt/home/alice/a", aws_username="*")
    assert decide(home, sneaky) is Decision.NONE
    literal = policy(stmt(Resource="arn:aws:s3:::bkt/${*}/*"))
    assert decide(literal, request(resource="arn:aws:s3:::bkt/*/a")) is Decision.ALLOW
    assert decide(literal, request(resource="arn:aws:s3:::bkt/x/a")) is Decision.NONE


def test_variables_only_in_the_2012_language() -> None:
    body = json.dumps({"Version": "2008-10-17", "Statement": [
        stmt(Resource="arn:aws:s3:::bkt/${aws:username}/*")]})  # fmt: skip
    old = parse_policy(body.encode(), "bkt")
    assert decide(old, request(resource="arn:aws:s3:::bkt/alice/a",
                               aws_username="alice")) is Decision.NONE  # fmt: skip
    assert decide(old, request(resource="arn:aws:s3:::bkt/${aws:username}/a")) is Decision.ALLOW
