"""What the bucket settings page builds before S3 sees it (pure code): the public-read
statement of a prefix merged into a policy, the default retention and expiry rule forms,
and the one-line descriptions of lifecycle rules."""

from __future__ import annotations

import json

import pytest

from oortgate.console.bucket_settings import (
    Refused,
    describe,
    describe_filter,
    expiry_rule,
    lock_config,
    public_read_statement,
    with_statement,
)
from oortgate.lifecycle.rules import Filter, Rule
from oortgate.xml.object_lock import LockConfig


def test_public_read_statement_is_added_once_per_prefix() -> None:
    statement = public_read_statement("photos", "public/")
    assert statement["Resource"] == "arn:aws:s3:::photos/public/*"
    assert statement["Principal"] == "*" and statement["Action"] == "s3:GetObject"
    assert str(statement["Sid"]).isalnum()  # S3 refuses any other Sid
    first = json.loads(with_statement("", statement))
    assert first["Version"] == "2012-10-17" and first["Statement"] == [statement]
    existing = {"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*",
                "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::photos/*"}}  # fmt: skip
    merged = json.loads(with_statement(json.dumps(existing), statement))
    assert merged["Statement"] == [existing["Statement"], statement]
    again = json.loads(with_statement(json.dumps(merged), statement))
    assert again == merged  # the same prefix again replaces its statement
    other = public_read_statement("photos", "")
    assert other["Sid"] != statement["Sid"] and other["Resource"] == "arn:aws:s3:::photos/*"
    with pytest.raises(Refused):
        public_read_statement("photos", "a*b/")


def test_retention_and_expiry_forms() -> None:
    assert lock_config("", "", "") == LockConfig()
    assert lock_config("GOVERNANCE", "3", "days") == LockConfig("GOVERNANCE", 3, None)
    assert lock_config("COMPLIANCE", "2", "years") == LockConfig("COMPLIANCE", None, 2)
    for amount, unit in (("x", "days"), ("-1", "days"), ("3", "weeks")):
        with pytest.raises(Refused):
            lock_config("GOVERNANCE", amount, unit)
    rule = expiry_rule("logs/", "7")
    assert (rule.filter.prefix, rule.expiration_days, rule.enabled) == ("logs/", 7, True)
    assert rule.id == "Expire after 7 days under logs/"
    for days in ("0", "", "1.5"):
        with pytest.raises(Refused):
            expiry_rule("", days)


def test_rules_are_described_in_a_line() -> None:
    where = Filter(prefix="tmp/", tags=(("kind", "scratch"),))
    rule = Rule("r", True, where, expiration_days=30, noncurrent_days=7, newer_noncurrent=2,
                abort_days=3)  # fmt: skip
    assert describe(rule) == (
        "expire after 30 days; delete noncurrent versions after 7 days, keeping the 2 newest;"
        " abort incomplete uploads after 3 days"
    )
    assert describe_filter(rule.filter) == "prefix 'tmp/', tag kind=scratch"
    assert describe_filter(Filter()) == "every object"
