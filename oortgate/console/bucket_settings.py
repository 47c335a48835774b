"""A bucket's versioning, object lock, policy and lifecycle, as the settings page shows
and changes them.

Everything is an S3 request of the signed-in key (console/s3_inprocess.py): the answers
are read, and the new documents written, with the S3 API's own XML parsers and builders,
and S3 checks and stores them as it would boto3's. A change returns the S3 answer; the
page shows S3's error message when it is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
from dataclasses import dataclass

from oortgate.console.pages import when
from oortgate.console.s3_inprocess import S3Answer, S3For
from oortgate.lifecycle.rules import ALL_128K, Filter, Lifecycle, Rule
from oortgate.ops.bucket_lifecycle import MINIMUM_SIZE
from oortgate.xml.bucket import parse_versioning, versioning_document
from oortgate.xml.lifecycle import lifecycle_document, parse_lifecycle
from oortgate.xml.object_lock import LockConfig, lock_configuration_document
from oortgate.xml.object_lock import parse_lock_configuration as parse_lock

NEVER = ""  # the versioning state of a bucket that was never versioned


class Refused(Exception):
    """A form value the page cannot even send to S3; the message is for the user."""


@dataclass(frozen=True, slots=True)
class BucketSettings:
    versioning: str  # "Enabled", "Suspended" or NEVER
    lock: LockConfig | None  # None: object lock is not enabled on the bucket
    policy: str  # the policy document (indented), "" for none
    lifecycle: Lifecycle | None


async def read_settings(s3: S3For, bucket: str, archive_classes: frozenset[str]
                        ) -> BucketSettings | S3Answer:  # fmt: skip
    """The settings, or the first refusal (no such bucket, not the caller's)."""
    versioning, lock, policy, lifecycle = await asyncio.gather(
        s3("GetBucketVersioning", bucket),
        s3("GetObjectLockConfiguration", bucket),
        s3("GetBucketPolicy", bucket),
        s3("GetBucketLifecycleConfiguration", bucket),
    )
    expected = {"ObjectLockConfigurationNotFoundError", "NoSuchBucketPolicy",
                "NoSuchLifecycleConfiguration"}  # fmt: skip
    for answer in (versioning, lock, policy, lifecycle):
        if not answer.ok and answer.code not in expected:
            return answer
    return BucketSettings(
        versioning=parse_versioning(versioning.body)[0] or NEVER,
        lock=parse_lock(lock.body) if lock.ok else None,
        policy=_indented(policy.body.decode("utf-8", "replace")) if policy.ok else "",
        lifecycle=_lifecycle(lifecycle, archive_classes),
    )


def _indented(policy: str) -> str:
    try:
        return json.dumps(json.loads(policy), indent=2)
    except ValueError:
        return policy


def _lifecycle(answer: S3Answer, archive_classes: frozenset[str]) -> Lifecycle | None:
    if not answer.ok:
        return None
    lifecycle = parse_lifecycle(answer.body, archive_classes)
    minimum = answer.headers.get(MINIMUM_SIZE, ALL_128K)
    return dataclasses.replace(lifecycle, default_minimum=minimum)


def describe(rule: Rule) -> str:
    """What a rule does, in a line (the page lists rules read-only)."""
    parts = []
    if rule.expiration_days is not None:
        parts.append(f"expire after {rule.expiration_days} days")
    if rule.expiration_date is not None:
        parts.append(f"expire from {when(rule.expiration_date)}")
    if rule.expired_marker:
        parts.append("remove expired delete markers")
    if rule.transition_class is not None:
        after = (f"after {rule.transition_days} days" if rule.transition_days is not None
                 else f"from {when(rule.transition_date or 0)}")  # fmt: skip
        parts.append(f"move to {rule.transition_class} {after}")
    if rule.noncurrent_days is not None:
        keep = f", keeping the {rule.newer_noncurrent} newest" if rule.newer_noncurrent else ""
        parts.append(f"delete noncurrent versions after {rule.noncurrent_days} days{keep}")
    if rule.nc_transition_class is not None:
        parts.append(f"move noncurrent versions to {rule.nc_transition_class} after "
                     f"{rule.nc_transition_days} days")  # fmt: skip
    if rule.abort_days is not None:
        parts.append(f"abort incomplete uploads after {rule.abort_days} days")
    return "; ".join(parts)


def describe_filter(f: Filter) -> str:
    parts = [f"prefix {f.prefix!r}"] if f.prefix else []
    parts += [f"tag {k}={v}" for k, v in f.tags]
    if f.size_greater_than is not None:
        parts.append(f"larger than {f.size_greater_than} bytes")
    if f.size_less_than is not None:
        parts.append(f"smaller than {f.size_less_than} bytes")
    return ", ".join(parts) or "every object"


async def set_versioning(s3: S3For, bucket: str, status: str) -> S3Answer:
    if status not in ("Enabled", "Suspended"):
        raise Refused("versioning is Enabled or Suspended (never unversioned again)")
    return await s3("PutBucketVersioning", bucket, body=versioning_document(status))


def lock_config(mode: str, amount: str, unit: str) -> LockConfig:
    """The configuration the retention form asks for (S3 checks the limits)."""
    if not mode:
        return LockConfig()  # no default retention
    if unit not in ("days", "years") or not amount.strip().isdigit():
        raise Refused("the default retention is a whole number of days or years")
    period = int(amount)
    return LockConfig(mode, period, None) if unit == "days" else LockConfig(mode, None, period)


async def set_default_retention(s3: S3For, bucket: str, config: LockConfig) -> S3Answer:
    return await s3("PutObjectLockConfiguration", bucket, body=lock_configuration_document(config))


async def put_policy(s3: S3For, bucket: str, policy: str) -> S3Answer:
    if not policy.strip():
        raise Refused("the policy is empty: use Delete policy to remove it")
    return await s3("PutBucketPolicy", bucket, body=policy.encode("utf-8"))


async def delete_policy(s3: S3For, bucket: str) -> S3Answer:
    return await s3("DeleteBucketPolicy", bucket)


def public_read_statement(bucket: str, prefix: str) -> dict[str, object]:
    """Anyone may GET the objects under ``prefix``: the usual public-read statement. Its
    Sid names the prefix, so making the same prefix public again replaces it."""
    if "*" in prefix or "?" in prefix:
        raise Refused("a prefix made public cannot contain * or ? (they are wildcards in a policy)")
    sid = "PublicRead" + hashlib.sha256(prefix.encode()).hexdigest()[:12]
    return {"Sid": sid, "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/{prefix}*"}  # fmt: skip


def with_statement(policy: str, statement: dict[str, object]) -> str:
    """``policy`` (a document, or "" for none) with ``statement`` added or replaced."""
    doc = json.loads(policy) if policy.strip() else {"Version": "2012-10-17", "Statement": []}
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = [s for s in statements if not (isinstance(s, dict) and s.get("Sid") == statement["Sid"])]
    doc["Statement"] = [*kept, statement]
    return json.dumps(doc, indent=2)


async def make_prefix_public(s3: S3For, bucket: str, prefix: str) -> S3Answer:
    """The bucket's policy with a public-read statement for ``prefix``; S3 refuses it
    under a PublicAccessBlock (BlockPublicPolicy), and the page shows why."""
    statement = public_read_statement(bucket, prefix)
    current = await s3("GetBucketPolicy", bucket)
    if not current.ok and current.code != "NoSuchBucketPolicy":
        return current
    policy = current.body.decode("utf-8", "replace") if current.ok else ""
    return await s3("PutBucketPolicy", bucket, body=with_statement(policy, statement).encode())


def expiry_rule(prefix: str, days: str) -> Rule:
    if not days.strip().isdigit() or int(days) < 1:
        raise Refused("expire after a whole number of days, at least 1")
    where = f" under {prefix}" if prefix else ""
    rule_id = f"Expire after {int(days)} days{where}"[:255]
    return Rule(rule_id, True, Filter(prefix=prefix), expiration_days=int(days))


async def _current_lifecycle(s3: S3For, bucket: str,
                             archive_classes: frozenset[str]) -> Lifecycle | S3Answer:  # fmt: skip
    answer = await s3("GetBucketLifecycleConfiguration", bucket)
    if not answer.ok and answer.code != "NoSuchLifecycleConfiguration":
        return answer
    return _lifecycle(answer, archive_classes) or Lifecycle(())


async def _put_lifecycle(s3: S3For, bucket: str, lifecycle: Lifecycle) -> S3Answer:
    if not lifecycle.rules:
        return await s3("DeleteBucketLifecycle", bucket)
    headers = {MINIMUM_SIZE: lifecycle.default_minimum}
    return await s3("PutBucketLifecycleConfiguration", bucket,
                    body=lifecycle_document(lifecycle), headers=headers)  # fmt: skip


async def add_rule(s3: S3For, bucket: str, rule: Rule,
                   archive_classes: frozenset[str]) -> S3Answer:  # fmt: skip
    current = await _current_lifecycle(s3, bucket, archive_classes)
    if isinstance(current, S3Answer):
        return current
    if any(r.id == rule.id for r in current.rules):
        raise Refused(f"there is a rule {rule.id!r} already")
    rules = (*current.rules, rule)
    return await _put_lifecycle(s3, bucket, dataclasses.replace(current, rules=rules))


async def delete_rule(s3: S3For, bucket: str, rule_id: str,
                      archive_classes: frozenset[str]) -> S3Answer:  # fmt: skip
    current = await _current_lifecycle(s3, bucket, archive_classes)
    if isinstance(current, S3Answer):
        return current
    kept = tuple(r for r in current.rules if r.id != rule_id)
    if len(kept) == len(current.rules):
        raise Refused(f"there is no rule {rule_id!r}")
    return await _put_lifecycle(s3, bucket, dataclasses.replace(current, rules=kept))
