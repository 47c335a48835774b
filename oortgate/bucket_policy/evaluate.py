"""A bucket policy's decision on one request, and whether a policy is public. Pure.

AWS's order: an explicit Deny in any matching statement wins; else an Allow in one
grants (the caller may also be granted by the ACLs, decided elsewhere); else the
policy says nothing (an implicit deny unless an ACL grants).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Final

from oortgate.bucket_policy.actions import action_matches, glob_match
from oortgate.bucket_policy.conditions import Condition, Context, network
from oortgate.bucket_policy.parse import ALLOW, DENY, Policy, Statement
from oortgate.bucket_policy.variables import fill, has_variables, pattern_matches

VARIABLES_VERSION: Final = "2012-10-17"  # the policy language version that has variables


class Decision(enum.Enum):
    DENY = "Deny"  # an explicit Deny: nothing else can grant
    ALLOW = "Allow"
    NONE = "None"  # no statement matched: the ACLs decide


@dataclass(frozen=True, slots=True)
class Request:
    """What a statement is matched against."""

    action: str  # e.g. "s3:GetObject"
    resource: str  # "arn:aws:s3:::bucket" or "arn:aws:s3:::bucket/key"
    canonical_id: str | None  # the caller's; None: anonymous
    name: str | None  # the caller's user name
    context: Context  # condition keys (lower case) -> values


def decide(policy: Policy, request: Request, *, public_allows: bool = True) -> Decision:
    """``public_allows`` False: Allow statements of a public policy grant nothing
    (RestrictPublicBuckets, for callers outside the bucket owner's account)."""
    allowed = False
    variables = policy.version == VARIABLES_VERSION
    for statement in policy.statements:
        if not _matches(statement, request, variables):
            continue
        if statement.effect == DENY:
            return Decision.DENY
        allowed = allowed or public_allows
    return Decision.ALLOW if allowed else Decision.NONE


def _matches(statement: Statement, request: Request, variables: bool) -> bool:
    named = statement.principals.include(request.canonical_id, request.name)
    if named == statement.not_principal:
        return False
    acted = any(action_matches(a, request.action) for a in statement.actions)
    if acted == statement.not_action:
        return False
    reached = any(_reaches(r, request, variables) for r in statement.resources)
    if reached == statement.not_resource:
        return False
    conditions = statement.conditions
    if variables:
        conditions = tuple(_filled(c, request.context) for c in conditions)
    return all(c.holds(request.context) for c in conditions)


def _reaches(resource: str, request: Request, variables: bool) -> bool:
    if variables and has_variables(resource):
        return pattern_matches(resource, request.resource, request.context)
    return glob_match(resource, request.resource)


def _filled(condition: Condition, context: Context) -> Condition:
    """A condition with its values' variables filled in (a value naming a variable the
    request lacks is dropped: it matches nothing)."""
    if not any(has_variables(v) for v in condition.values):
        return condition
    values = tuple(v for v in (fill(v, context) for v in condition.values) if v is not None)
    return replace(condition, values=values)


# Conditions that tie a statement to fixed callers or sources make it not public (AWS,
# "The meaning of public"), when compared for equality (no wildcard in the values).
_FIXING_KEYS: Final = frozenset({
    "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
    "aws:sourceaccount", "aws:userid", "aws:principalaccount", "aws:principalarn",
    "aws:principalorgid", "s3:x-amz-server-side-encryption-aws-kms-key-id",
})  # fmt: skip
_EQUALITY: Final = frozenset({"StringEquals", "StringEqualsIgnoreCase", "ArnEquals", "ArnLike",
                              "StringLike"})  # fmt: skip
# An address range this wide is the public Internet, as far as AWS is concerned.
_WIDEST_PRIVATE_PREFIX: Final = {4: 8, 6: 32}


def is_public(policy: Policy) -> bool:
    """Does the policy grant anything to everyone (AWS's definition)?"""
    return any(statement_is_public(s) for s in policy.statements)


def statement_is_public(statement: Statement) -> bool:
    if statement.effect != ALLOW:
        return False
    if not statement.principals.everyone and not statement.not_principal:
        return False
    return not any(_fixes(c) for c in statement.conditions)


def _fixes(condition: Condition) -> bool:
    if condition.if_exists or condition.qualifier == "ForAllValues":
        return False  # holds for requests that do not carry the key: fixes nothing
    if condition.key == "aws:sourceip" and condition.operator == "IpAddress":
        return all(_narrow(v) for v in condition.values)
    if condition.key in _FIXING_KEYS and condition.operator in _EQUALITY:
        wild = any("*" in v or "?" in v for v in condition.values)
        return not wild or condition.operator in ("StringEquals", "StringEqualsIgnoreCase")
    return False


def _narrow(value: str) -> bool:
    net = network(value)
    return net.prefixlen >= _WIDEST_PRIVATE_PREFIX[net.version]
