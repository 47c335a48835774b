"""Any PutBucketPolicy body is either a policy or MalformedPolicy (PolicyError), never
another exception (a 500); what parses can be decided for any request."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from oortgate.bucket_policy import PolicyError, Request, decide, is_public, parse_policy

_KEYS = st.sampled_from([
    "Version", "Statement", "Sid", "Effect", "Principal", "NotPrincipal", "Action",
    "NotAction", "Resource", "NotResource", "Condition", "AWS", "CanonicalUser", "Allow",
    "Deny", "*", "s3:*", "s3:GetObject", "arn:aws:s3:::bkt/*", "arn:aws:s3:::bkt",
    "StringLike", "IpAddress", "ForAnyValue:StringEquals", "NullIfExists", "aws:SourceIp",
    "s3:prefix", "2012-10-17", "10.0.0.0/8", "${aws:username}",
])  # fmt: skip
_LEAVES = st.one_of(_KEYS, st.text(max_size=10), st.integers(), st.booleans(), st.none(),
                    st.floats(allow_nan=False))  # fmt: skip
def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(_KEYS, inner, max_size=5))


_JSON = st.recursive(_LEAVES, _nested, max_leaves=30)


def _statement_like() -> st.SearchStrategy[Any]:
    return st.fixed_dictionaries({"Statement": st.lists(st.dictionaries(_KEYS, _JSON,
                                                                        max_size=7))})


@settings(max_examples=200, deadline=None)
@given(st.one_of(_JSON, _statement_like()))
def test_only_policies_or_policy_errors(document: Any) -> None:
    body = json.dumps(document).encode()
    try:
        policy = parse_policy(body, "bkt")
    except PolicyError:
        return
    is_public(policy)
    request = Request("s3:GetObject", "arn:aws:s3:::bkt/k", None, None,
                      {"aws:sourceip": ("10.1.1.1",)})  # fmt: skip
    decide(policy, request)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_bytes(body: bytes) -> None:
    with contextlib.suppress(PolicyError):
        parse_policy(b"{" + body, "bkt")


def test_deep_nesting_is_malformed_not_a_crash() -> None:
    body = b'{"a":' + b"[" * 9000 + b"]" * 9000 + b"}"
    try:
        parse_policy(body, "bkt")
    except PolicyError as err:
        assert str(err) == "This policy contains invalid Json"
    else:
        raise AssertionError("parsed")
