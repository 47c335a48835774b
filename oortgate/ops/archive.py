"""The Archive tier's Glacier semantics, when ``archive_restore_required`` is set: an
archived object, or an archived noncurrent version (RestoreObject with ``versionId``),
must be restored before its bytes can be read; HEAD shows the restore's progress and
expiry in ``x-amz-restore``."""

from __future__ import annotations

import time

from oortgate.errors import S3Error
from oortgate.meta.models import ObjectRecord
from oortgate.ops.context import Context
from oortgate.ops.metadata import http_date
from oortgate.ops.response import Response, empty
from oortgate.xml.restore import parse_restore_days

MAX_RESTORE_XML = 16 * 1024
DAY = 86400.0


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


async def restore_object(ctx: Context) -> Response:
    bucket, record = ctx.granted_bucket, ctx.granted_object
    days = parse_restore_days(await ctx.body.read(MAX_RESTORE_XML))
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
    # By its version id: the version asked for (the route's, else the current one then),
    # current or noncurrent, even if a newer write made it noncurrent meanwhile.
    expiry = max(now, ready) + days * DAY
    if not await ctx.meta.set_version_restore(bucket.id, ctx.key, record.version_id, ready,
                                              expiry):  # fmt: skip
        raise S3Error("NoSuchKey", Key=ctx.key)  # deleted meanwhile
    return empty(200 if restored else 202)
