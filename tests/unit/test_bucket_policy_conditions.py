"""oortgate.bucket_policy.conditions: every operator, ...IfExists, ForAnyValue and
ForAllValues, and what a missing key means, as AWS documents them."""

from __future__ import annotations

from typing import Any

import pytest

from oortgate.bucket_policy.conditions import Context, parse_conditions


def holds(operator: str, key: str, wanted: Any, context: Context) -> bool:
    (condition,) = parse_conditions({operator: {key: wanted}})
    return condition.holds(context)


UA = "aws:useragent"


@pytest.mark.parametrize(("operator", "wanted", "actual", "expected"), [
    ("StringEquals", "rclone/1.6", "rclone/1.6", True),
    ("StringEquals", "rclone/1.6", "Rclone/1.6", False),
    ("StringEquals", ["a", "rclone/1.6"], "rclone/1.6", True),  # any value (OR)
    ("StringNotEquals", "a", "b", True),
    ("StringNotEquals", ["a", "b"], "b", False),
    ("StringEqualsIgnoreCase", "RCLONE", "rclone", True),
    ("StringNotEqualsIgnoreCase", "RCLONE", "rclone", False),
    ("StringLike", "rclone/*", "rclone/1.6", True),
    ("StringLike", "rclone/?.6", "rclone/1.6", True),
    ("StringLike", "rclone/?", "rclone/1.6", False),
    ("StringNotLike", "boto*", "rclone/1.6", True),
    ("NumericEquals", 10, "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericNotEquals", 10, "11", True),
    ("NumericLessThan", 10, "9", True),
    ("NumericLessThan", 10, "10", False),
    ("NumericLessThanEquals", 10, "10", True),
    ("NumericGreaterThan", 10, "11", True),
    ("NumericGreaterThanEquals", 10, "9", False),
    ("NumericEquals", 10, "ten", False),  # not a number: no match
    ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
    ("DateLessThan", "2026-01-01T00:00:00Z", "2025-12-31T23:59:59Z", True),
    ("DateLessThan", "2026-01-01", "2026-01-01T00:00:01Z", False),
    ("DateLessThanEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2026-01-01T00:00:00+01:00", "2025-12-31T23:30:00Z", True),
    ("DateGreaterThanEquals", 1767225600, "2026-01-01T00:00:00Z", True),  # epoch seconds
    ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", True),
    ("DateEquals", "2026-01-01", "not a date", False),
    ("Bool", True, "true", True),
    ("Bool", "false", "true", False),
    ("BinaryEquals", "QmluYXJ5", "QmluYXJ5", True),
    ("ArnEquals", "arn:aws:iam::*:user/a", "arn:aws:iam::1:user/a", True),
    ("ArnLike", "arn:aws:s3:::b/*", "arn:aws:s3:::c/x", False),
    ("ArnNotEquals", "arn:aws:s3:::b", "arn:aws:s3:::c", True),
    ("ArnNotLike", "arn:aws:s3:::b*", "arn:aws:s3:::bb", False),
])  # fmt: skip
def test_operators(operator: str, wanted: Any, actual: str, expected: bool) -> None:
    assert holds(operator, UA, wanted, {UA: (actual,)}) is expected


@pytest.mark.parametrize(("operator", "wanted", "address", "expected"), [
    ("IpAddress", "192.0.2.0/24", "192.0.2.77", True),
    ("IpAddress", "192.0.2.0/24", "198.51.100.1", False),
    ("IpAddress", "192.0.2.7", "192.0.2.7", True),  # one address: a /32
    ("IpAddress", ["10.0.0.0/8", "2001:db8::/32"], "2001:db8::1", True),
    ("IpAddress", "2001:db8::/32", "192.0.2.7", False),  # another family never matches
    ("NotIpAddress", "192.0.2.0/24", "198.51.100.1", True),
    ("NotIpAddress", "192.0.2.0/24", "192.0.2.1", False),
    ("IpAddress", "192.0.2.0/24", "not an address", False),
])  # fmt: skip
def test_ip_operators(operator: str, wanted: Any, address: str, expected: bool) -> None:
    assert holds(operator, "aws:SourceIp", wanted, {"aws:sourceip": (address,)}) is expected


@pytest.mark.parametrize(("operator", "expected"), [
    ("StringEquals", False), ("StringLike", False), ("NumericLessThan", False),
    ("DateGreaterThan", False), ("Bool", False), ("IpAddress", False), ("ArnLike", False),
    # Negated operators hold when the key is missing (AWS: "the condition is true").
    ("StringNotEquals", True), ("StringNotLike", True), ("NotIpAddress", True),
    ("NumericNotEquals", True), ("DateNotEquals", True), ("ArnNotLike", True),
    ("StringEqualsIfExists", True), ("NumericLessThanIfExists", True),
    ("ForAnyValue:StringEquals", False), ("ForAnyValue:StringNotEquals", False),
    ("ForAllValues:StringEquals", True), ("ForAllValues:StringNotEquals", True),
])  # fmt: skip
def test_a_missing_key(operator: str, expected: bool) -> None:
    wanted = "10.0.0.0/8" if "Ip" in operator else "1"
    assert holds(operator, "aws:SourceIp" if "Ip" in operator else UA, wanted, {}) is expected


def test_if_exists_compares_a_present_key() -> None:
    assert holds("StringEqualsIfExists", UA, "a", {UA: ("a",)})
    assert not holds("StringEqualsIfExists", UA, "a", {UA: ("b",)})


def test_null() -> None:
    assert holds("Null", UA, "true", {})
    assert not holds("Null", UA, "true", {UA: ("x",)})
    assert holds("Null", UA, False, {UA: ("x",)})
    assert not holds("Null", UA, "false", {})


TAGS = "s3:requestobjecttagkeys"


def test_for_any_value_and_for_all_values() -> None:
    present = {TAGS: ("project", "owner")}
    assert holds("ForAnyValue:StringEquals", TAGS, ["project"], present)
    assert not holds("ForAnyValue:StringEquals", TAGS, ["cost"], present)
    assert holds("ForAllValues:StringEquals", TAGS, ["project", "owner", "cost"], present)
    assert not holds("ForAllValues:StringEquals", TAGS, ["project"], present)
    assert holds("ForAnyValue:StringNotEquals", TAGS, ["project"], present)  # "owner"
    assert not holds("ForAllValues:StringNotEquals", TAGS, ["project"], present)
    assert holds("ForAllValues:StringLike", TAGS, ["p*", "o*"], present)


def test_keys_compare_without_case() -> None:
    (condition,) = parse_conditions({"StringEquals": {"AWS:UserAgent": "a"}})
    assert condition.key == UA and condition.holds({UA: ("a",)})


def test_several_keys_and_operators_must_all_hold() -> None:
    conditions = parse_conditions({
        "StringEquals": {UA: "a", "aws:referer": "r"},
        "Bool": {"aws:SecureTransport": "true"},
    })  # fmt: skip
    context = {UA: ("a",), "aws:referer": ("r",), "aws:securetransport": ("true",)}
    assert all(c.holds(context) for c in conditions)
    assert not all(c.holds({**context, "aws:referer": ("x",)}) for c in conditions)
