"""Object lock and the bucket policy (issue 20), with boto3: bypassing GOVERNANCE takes
s3:BypassGovernanceRetention, which the bucket's owner holds unless the policy denies it
and another user holds only by the policy's Allow; COMPLIANCE gives way to nobody."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest

from ._util import s3_error

FAR = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)
LATER = datetime.datetime(2101, 6, 1, tzinfo=datetime.UTC)
# What another user needs to remove or change a version's lock at all.
VERSION_ACTIONS = ["s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:GetObjectRetention"]


@pytest.fixture
def locked(s3: Any, unique_name: Any) -> str:
    """A bucket created with object lock (its locked versions outlive the test)."""
    name: str = unique_name("lockp")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def _policy(s3: Any, bucket: str, *statements: dict[str, Any]) -> None:
    text = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    s3.put_bucket_policy(Bucket=bucket, Policy=text)


def _statement(effect: str, principal: Any, actions: list[str], bucket: str) -> dict[str, Any]:
    return {"Effect": effect, "Principal": principal, "Action": actions,
            "Resource": f"arn:aws:s3:::{bucket}/*"}  # fmt: skip


def _put(s3: Any, bucket: str, key: str, mode: str) -> str:
    return str(s3.put_object(Bucket=bucket, Key=key, Body=b"x", ObjectLockMode=mode,
                             ObjectLockRetainUntilDate=LATER)["VersionId"])  # fmt: skip


def _versions(s3: Any, bucket: str, key: str) -> list[str]:
    listed = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [v["VersionId"] for v in listed if v["Key"] == key]


def test_bypass_granted_by_policy(s3: Any, locked: str, make_user: Any, client_for: Any) -> None:
    keys = make_user()
    other = client_for(*keys)
    user = {"CanonicalUser": keys.canonical_id}
    _policy(s3, locked, _statement("Allow", user, VERSION_ACTIONS, locked))
    vid = _put(s3, locked, "k", "GOVERNANCE")
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": FAR}
    # Without s3:BypassGovernanceRetention asking for it is not asking.
    with s3_error("AccessDenied", 403):
        other.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    with s3_error("AccessDenied", 403):
        other.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=shorter,
                                   BypassGovernanceRetention=True)  # fmt: skip
    got = other.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "k", "VersionId": vid}]})  # fmt: skip
    assert [e["Code"] for e in got["Errors"]] == ["AccessDenied"]
    assert _versions(s3, locked, "k") == [vid]

    granted = [*VERSION_ACTIONS, "s3:BypassGovernanceRetention"]
    _policy(s3, locked, _statement("Allow", user, granted, locked))
    other.put_object_retention(Bucket=locked, Key="k", VersionId=vid, Retention=shorter,
                               BypassGovernanceRetention=True)  # fmt: skip
    assert other.get_object_retention(Bucket=locked, Key="k", VersionId=vid)["Retention"] == shorter
    with s3_error("AccessDenied", 403):  # the grant is used only when asked for
        other.delete_object(Bucket=locked, Key="k", VersionId=vid)
    other.delete_object(Bucket=locked, Key="k", VersionId=vid, BypassGovernanceRetention=True)
    assert _versions(s3, locked, "k") == []
    vid = _put(s3, locked, "m", "GOVERNANCE")
    got = other.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                               Delete={"Objects": [{"Key": "m", "VersionId": vid}]})  # fmt: skip
    assert [d["VersionId"] for d in got["Deleted"]] == [vid] and "Errors" not in got

    # COMPLIANCE: the grant changes nothing.
    vid = _put(s3, locked, "c", "COMPLIANCE")
    with s3_error("AccessDenied", 403):
        other.delete_object(Bucket=locked, Key="c", VersionId=vid, BypassGovernanceRetention=True)
    with s3_error("AccessDenied", 403):
        other.put_object_retention(Bucket=locked, Key="c", VersionId=vid, Retention=shorter,
                                   BypassGovernanceRetention=True)  # fmt: skip
    assert _versions(s3, locked, "c") == [vid]


def test_policy_deny_takes_bypass_from_the_owner(s3: Any, locked: str) -> None:
    deny = _statement("Deny", "*", ["s3:BypassGovernanceRetention"], locked)
    _policy(s3, locked, {**deny, "Resource": f"arn:aws:s3:::{locked}/held/*"})
    held, free = _put(s3, locked, "held/k", "GOVERNANCE"), _put(s3, locked, "free/k", "GOVERNANCE")
    with s3_error("AccessDenied", 403):
        s3.delete_object(Bucket=locked, Key="held/k", VersionId=held,
                         BypassGovernanceRetention=True)  # fmt: skip
    with s3_error("AccessDenied", 403):
        s3.put_object_retention(Bucket=locked, Key="held/k", VersionId=held,
                                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": FAR},
                                BypassGovernanceRetention=True)  # fmt: skip
    objects = [{"Key": "held/k", "VersionId": held}, {"Key": "free/k", "VersionId": free}]
    got = s3.delete_objects(Bucket=locked, BypassGovernanceRetention=True,
                            Delete={"Objects": objects})  # fmt: skip
    assert [(e["Key"], e["Code"]) for e in got["Errors"]] == [("held/k", "AccessDenied")]
    assert [d["Key"] for d in got["Deleted"]] == ["free/k"]
    assert _versions(s3, locked, "held/k") == [held]
