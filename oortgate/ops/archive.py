"""The Archive tier's Glacier semantics, when ``archive_restore_required`` is set: an
archived object must be restored (RestoreObject) before its bytes can be read; HEAD
shows the restore's progress and expiry in ``x-amz-restore``."""

from __future__ import annotations

import time

from oortgate import policy, xml
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord
from oortgate.numbers import parse_count
from oortgate.ops.context import Context
from oortgate.ops.metadata import check_version_id, http_date
from oortgate.ops.response import Response, empty

MAX_RESTORE_XML = 16 * 1024
DAY = 86400.0
MAX_RESTORE_DAYS = 1_000_000  # some 2,700 years


def _needs_restore(ctx: Context, record: ObjectRecord) -> bool:
    return ctx.services.settings.archive_restore_required and record.storage_class != "STANDARD"


def check_readable(ctx: Context, record: ObjectRecord) -> None:
    """Refuse to read an archived object's bytes unless a restore has completed."""
    if not _needs_restore(ctx, record):
        return
    now = time.time()
    ready, expiry = record.restore_ready, record.restore_expiry
    if ready is None or expiry is None or not ready <= now < expiry:
        raise S3Error("InvalidObjectState", "The operation is not valid for the object's "
                      "storage class", StorageClass=record.storage_class)  # fmt: skip


def restore_headers(ctx: Context, record: ObjectRecord) -> list[tuple[str, str]]:
    if not _needs_restore(ctx, record) or record.restore_ready is None:
        return []
    if time.time() < record.restore_ready:
        return [("x-amz-restore", 'ongoing-request="true"')]
    expiry = http_date(record.restore_expiry or 0)
    return [("x-amz-restore", f'ongoing-request="false", expiry-date="{expiry}"')]


def _days(body: bytes) -> int:
    if not body.strip():
        return 1
    root = xml.parse(body)
    value = xml.child_text(root, "Days")
    days = parse_count(value) if value is not None else 1
    if root.tag != "RestoreRequest" or days is None:
        raise S3Error("MalformedXML")
    if not 1 <= days <= MAX_RESTORE_DAYS:  # the expiry date must stay a date
        raise S3Error("InvalidArgument", f"Days must be a positive integer up to "
                      f"{MAX_RESTORE_DAYS}", ArgumentName="Days")  # fmt: skip
    return days


async def restore_object(ctx: Context) -> Response:
    bucket = await ctx.bucket_for(policy.WRITE)
    check_version_id(ctx.query)
    record = await ctx.readable_object(bucket, ctx.key)
    days = _days(await ctx.body.read(MAX_RESTORE_XML))
    if not _needs_restore(ctx, record):
        raise S3Error("InvalidObjectState", "Restore is not allowed for the object's current "
                      "storage class", StorageClass=record.storage_class)  # fmt: skip
    now = time.time()
    ready = record.restore_ready
    if ready is not None and now < ready:
        raise S3Error("RestoreAlreadyInProgress", "Object restore is already in progress",
                      status=409)  # fmt: skip
    restored = ready is not None and now < (record.restore_expiry or 0)
    if not restored:
        ready = now + ctx.services.settings.archive_restore_seconds
    assert ready is not None
    await ctx.meta.set_object_restore(bucket.id, ctx.key, ready,
                          max(now, ready) + days * DAY)  # fmt: skip
    return empty(200 if restored else 202)
