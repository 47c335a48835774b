"""Object lock (as AWS S3): Put/GetObjectLockConfiguration, Put/GetObjectRetention,
Put/GetObjectLegalHold, and what other operations ask of it (a new version's lock from
the x-amz-object-lock-* headers or the bucket's default retention; the headers GET and
HEAD show; who may bypass GOVERNANCE). The rules themselves are enforced by the store,
in the transaction that deletes or changes (oortgate.meta.object_lock).

A bucket gets a lock at CreateBucket (x-amz-bucket-object-lock-enabled) or, as AWS allows
since 2023, by PutObjectLockConfiguration on a bucket whose versioning is Enabled; it is
never turned off, and its versioning can no longer be suspended.

Bypassing GOVERNANCE (x-amz-bypass-governance-retention: true) takes
s3:BypassGovernanceRetention on the version's object, as AWS asks: the bucket's owner (its
account's root) holds it unless the bucket policy denies it; anyone else needs the
policy's Allow. A caller asking for it who may not is treated as not asking, so a locked
version stays (403 AccessDenied).
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.bucket_policy import Decision
from oortgate.errors import INVALID_ARGUMENT, INVALID_REQUEST, S3Error
from oortgate.meta.models import Bucket, ObjectLock, ObjectRecord
from oortgate.ops.context import Context
from oortgate.ops.policy_gate import verdict
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.version_ids import version_headers
from oortgate.xml import object_lock as lock_xml
from oortgate.xml.object_lock import MODES, LockConfig

MAX_LOCK_XML = 16 * 1024
MODE, UNTIL, HOLD = (
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
)
BYPASS = "x-amz-bypass-governance-retention"
BYPASS_ACTION = "s3:BypassGovernanceRetention"
MISSING_LOCK = "Bucket is missing Object Lock Configuration"


def config(bucket: Bucket) -> LockConfig | None:
    return None if bucket.object_lock is None else LockConfig.loads(bucket.object_lock)


def _locked(bucket: Bucket) -> LockConfig:
    found = config(bucket)
    if found is None:
        raise S3Error(INVALID_REQUEST, MISSING_LOCK)
    return found


def require_checksum(headers: Mapping[str, str], what: str) -> None:
    """AWS requires Content-MD5 or an x-amz-checksum-* (a header or a trailer) here."""
    if content_md5(headers) is not None or any(header_name(a) in headers for a in ALGORITHMS):
        return
    if "x-amz-checksum-" in headers.get("x-amz-trailer", "").lower():
        return
    raise S3Error(INVALID_REQUEST,
                  f"Content-MD5 OR x-amz-checksum- HTTP header is required for {what}")  # fmt: skip


def requested_lock(ctx: Context, bucket: Bucket, body: bool) -> ObjectLock | None:
    """The lock the request's x-amz-object-lock-* headers ask for (None: they ask for
    none). ``body``: the request carries one (PutObject), whose checksum is then
    required. Checked before any byte of the body is read."""
    headers = ctx.headers
    asked = [name for name in (MODE, UNTIL, HOLD) if name in headers]
    if not asked:
        return None
    lock = config(bucket)
    if lock is None:
        raise S3Error(INVALID_REQUEST, MISSING_LOCK)
    if body:
        require_checksum(headers, "Put Object requests with Object Lock parameters")
    hold = _legal_hold_header(headers.get(HOLD))
    mode, until_text = headers.get(MODE), headers.get(UNTIL)
    if (mode is None) != (until_text is None):
        raise S3Error(INVALID_ARGUMENT, "x-amz-object-lock-retain-until-date and "
                      "x-amz-object-lock-mode must both be supplied")  # fmt: skip
    if mode is None or until_text is None:  # a legal hold alone: with the default retention
        default = default_lock(bucket) or ObjectLock()
        return ObjectLock(default.mode, default.retain_until, hold)
    if mode not in MODES:
        raise S3Error(INVALID_ARGUMENT, "Unknown wormMode directive.")
    return ObjectLock(mode, _future(lock_xml.parse_date(until_text), time.time()), hold)


def new_version_lock(ctx: Context, bucket: Bucket, body: bool) -> ObjectLock | None:
    """The lock a new version (PutObject, CopyObject) is written with: its headers',
    else the bucket's default retention."""
    return requested_lock(ctx, bucket, body) or default_lock(bucket)


def default_lock(bucket: Bucket) -> ObjectLock | None:
    """The bucket's default retention for a version written without lock headers."""
    lock = config(bucket)
    until = None if lock is None else lock.default_until(time.time())
    return None if lock is None or until is None else ObjectLock(lock.mode, until)


def _legal_hold_header(value: str | None) -> bool:
    if value is None or value == "OFF":
        return False
    if value == "ON":
        return True
    raise S3Error(INVALID_ARGUMENT, "Legal Hold must be either of 'ON' or 'OFF'")


def _future(until: float, now: float) -> float:
    if until <= now:
        raise S3Error(INVALID_ARGUMENT, "The retain until date must be in the future!")
    return until


def bypass(ctx: Context, bucket: Bucket, key: str) -> bool:
    """Whether the caller asks to bypass GOVERNANCE on ``key``'s versions and may (see
    the module's notes)."""
    if ctx.headers.get(BYPASS, "").lower() != "true":
        return False
    decided = verdict(bucket, BYPASS_ACTION, key, ctx.facts)
    if decided is not Decision.NONE:
        return decided is Decision.ALLOW
    return ctx.caller_id is not None and ctx.caller_id == bucket.owner_id


async def lock_headers(ctx: Context, bucket: Bucket, record: ObjectRecord) -> list[tuple[str, str]]:
    """What GET and HEAD show of the version's lock (nothing on a bucket without one)."""
    if bucket.object_lock is None:
        return []
    lock = await ctx.meta.get_object_lock(bucket.id, record.key, record.version_id)
    if lock is None:
        return []
    headers = []
    if lock.mode is not None and lock.retain_until is not None:
        headers.append((MODE, lock.mode))
        headers.append((UNTIL, lock_xml.show_date(lock.retain_until)))
    headers.append((HOLD, "ON" if lock.legal_hold else "OFF"))
    return headers


# -- the bucket's configuration --------------------------------------------------------
async def put_object_lock_configuration(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    require_checksum(ctx.headers, "Put Object Lock Configuration requests")
    new = lock_xml.parse_lock_configuration(await ctx.body.read(MAX_LOCK_XML))
    if bucket.object_lock is None and bucket.versioning != "Enabled":
        raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to "
                      "apply a Object Lock configuration")  # fmt: skip
    await ctx.meta.set_bucket_object_lock(bucket.id, new.dumps())
    return empty(200)


async def get_object_lock_configuration(ctx: Context) -> Response:
    bucket = ctx.granted_bucket
    found = config(bucket)
    if found is None:
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=bucket.name)
    return xml_response(lock_xml.lock_configuration_document(found))


# -- a version's retention and legal hold ----------------------------------------------
async def put_object_retention(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    _locked(bucket)
    require_checksum(ctx.headers, "Put Object Retention requests")
    mode, until = lock_xml.parse_retention(await ctx.body.read(MAX_LOCK_XML))
    if until is not None:
        _future(until, time.time())
    may_bypass = bypass(ctx, bucket, record.key)
    changed = await ctx.meta.set_object_retention(bucket.id, record.key, record.version_id,
                                                  mode, until, may_bypass)  # fmt: skip
    if not changed:
        raise S3Error("NoSuchKey", Key=record.key)  # deleted meanwhile
    return empty(200, version_headers(bucket, record))


async def get_object_retention(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    _locked(bucket)
    lock = await ctx.meta.get_object_lock(bucket.id, record.key, record.version_id)
    if lock is None or lock.mode is None or lock.retain_until is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(lock_xml.retention_document(lock.mode, lock.retain_until))


async def put_object_legal_hold(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    _locked(bucket)
    require_checksum(ctx.headers, "Put Object Legal Hold requests")
    on = lock_xml.parse_legal_hold(await ctx.body.read(MAX_LOCK_XML))
    if not await ctx.meta.set_object_legal_hold(bucket.id, record.key, record.version_id, on):
        raise S3Error("NoSuchKey", Key=record.key)  # deleted meanwhile
    return empty(200, version_headers(bucket, record))


async def get_object_legal_hold(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    _locked(bucket)
    lock = await ctx.meta.get_object_lock(bucket.id, record.key, record.version_id)
    if lock is None:
        raise S3Error("NoSuchObjectLockConfiguration")
    return xml_response(lock_xml.legal_hold_document(lock.legal_hold))
