"""PutObject and CopyObject."""

from __future__ import annotations

import dataclasses
import time

from oortgate import policy, tagging
from oortgate.auth.checksums import ALGORITHMS, content_md5, header_name
from oortgate.errors import S3Error
from oortgate.meta.models import Bucket, ObjectRecord, dated
from oortgate.numbers import parse_count
from oortgate.ops import conditions, object_lock, tier_copy
from oortgate.ops.acl import new_object_acl
from oortgate.ops.archive import check_readable
from oortgate.ops.blob_writer import StoredBlob, write_body
from oortgate.ops.bucket_lifecycle import expiration_headers
from oortgate.ops.context import Context
from oortgate.ops.metadata import (
    REDIRECT,
    check_key,
    content_type,
    copied_system_headers,
    storage_class,
    system_headers,
    user_metadata,
)
from oortgate.ops.response import Response, xml_response
from oortgate.ops.version_ids import new_version, shown, version_headers, versioned
from oortgate.ops.write_conditions import check_early, lost_race, write_condition
from oortgate.xml import copy as copy_xml


def declared_size(ctx: Context) -> int | None:
    decoded = ctx.headers.get("x-amz-decoded-content-length")
    length = decoded if decoded is not None else ctx.headers.get("content-length")
    if length is None:
        if "chunked" in ctx.headers.get("transfer-encoding", ""):
            return None
        raise S3Error("MissingContentLength")
    size = parse_count(length) if length.isdigit() else None
    if size is None:
        raise S3Error("InvalidArgument", "Content-Length must be a non-negative integer.")
    return size


async def write_target(ctx: Context) -> tuple[Bucket, str]:
    """The bucket a new object goes to (authorize() checked that the caller may write
    there) and its ACL; the key and headers checked before any byte of the body is read
    (unsupported headers were refused before the handler ran: ops/request_headers.py)."""
    bucket = ctx.granted_bucket
    check_key(ctx.key)
    return bucket, await new_object_acl(ctx, bucket)


async def put_object(ctx: Context) -> Response:
    bucket, acl = await write_target(ctx)
    settings = ctx.services.settings
    limit = settings.max_object_size
    declared = declared_size(ctx)
    if declared is not None and declared > limit:
        raise S3Error("EntityTooLarge", ProposedSize=str(declared), MaxSizeAllowed=str(limit))
    expected_md5 = content_md5(ctx.headers)
    condition = write_condition(ctx.headers)
    await check_early(ctx, bucket.id, ctx.key, condition)  # before a byte of a doomed body
    # Validate every header before reading a byte of the body.
    draft = ObjectRecord(
        bucket_id=bucket.id,
        key=ctx.key,
        body=None,  # the bytes are not read yet
        size=0,
        etag="",
        last_modified=0.0,
        content_type=content_type(ctx.headers),
        system_headers=system_headers(ctx.headers),
        user_metadata=user_metadata(ctx.headers),
        storage_class=storage_class(ctx.headers, bucket, settings.archive_storage_class),
        acl=acl,
        owner_id=policy.new_object_owner(bucket, acl, ctx.caller_id),
        tags=tagging.parse_header(ctx.headers.get("x-amz-tagging")),
        version_id=new_version(bucket),
        lock=object_lock.new_version_lock(ctx, bucket, body=True),
    )

    async def commit(stored: StoredBlob) -> ObjectRecord:
        record = dataclasses.replace(
            draft,
            body=stored.body,
            size=stored.size,
            etag=stored.md5.hex(),
            last_modified=time.time(),
            checksums=dict([stored.checksum]) if stored.checksum else {},
        )
        try:
            stored_at = await ctx.meta.put_object(record, condition, versioned(bucket))
        except S3Error as err:  # refused (a condition lost a race, the bucket went away)
            raise lost_race(err) from None
        return dated(record, stored_at)

    record = await write_body(ctx, commit, limit=limit, inline_size=declared,
                              expected_md5=expected_md5,
                              tier=bucket.tier)  # fmt: skip
    headers = [("etag", f'"{record.etag}"')]
    headers.extend((header_name(alg), value) for alg, value in record.checksums.items())
    headers.extend(expiration_headers(bucket, record, settings.lifecycle_day_seconds))
    headers.extend(version_headers(bucket, record))
    return Response(200, headers)


def copy_source(ctx: Context) -> ObjectRecord:
    """The object x-amz-copy-source names (authorize() checked that the caller may read
    it), if its bytes may be read now and its conditions are met."""
    source = ctx.granted_source
    check_readable(ctx, source)
    prefix = "x-amz-copy-source-if-"
    if conditions.evaluate(ctx.headers, source.etag, source.last_modified, prefix=prefix):
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-If-None-Match")
    return source


def check_copy_checksum(ctx: Context, source: ObjectRecord) -> None:
    """x-amz-checksum-algorithm on CopyObject: the copy shares the source's bytes and
    keeps its checksums, so an algorithm the source already carries is honoured; any
    other would need every byte read again: refused."""
    name = "x-amz-checksum-algorithm"
    wanted = ctx.headers.get(name)
    if wanted is None or wanted.upper() in source.checksums:
        return
    if wanted.upper() not in ALGORITHMS:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please "
                      "try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, "
                      "SHA1, SHA256]")  # fmt: skip
    raise S3Error("NotImplemented", f"Computing a {wanted.upper()} checksum while copying is "
                  "not implemented (the source has none of that algorithm).",
                  Header=name)  # fmt: skip


async def copy_object(ctx: Context) -> Response:
    bucket, acl = await write_target(ctx)
    condition = write_condition(ctx.headers)
    await ctx.body.drain()
    source = copy_source(ctx)
    check_copy_checksum(ctx, source)
    await check_early(ctx, bucket.id, ctx.key, condition)
    directive = ctx.headers.get("x-amz-metadata-directive", "COPY")
    if directive not in ("COPY", "REPLACE"):
        raise S3Error(
            "InvalidArgument",
            "Unknown metadata directive.",
            ArgumentName="x-amz-metadata-directive",
            ArgumentValue=directive,
        )
    new_class = storage_class(ctx.headers, bucket, ctx.services.settings.archive_storage_class)
    # (A copy of a version named by its id onto its own key restores it: allowed.)
    if (
        (source.bucket_id, source.key) == (bucket.id, ctx.key)
        and "?versionId=" not in ctx.headers["x-amz-copy-source"]
        and directive == "COPY"
        and new_class == source.storage_class
        and REDIRECT not in ctx.headers
    ):
        raise S3Error(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect "
            "location or encryption attributes.",
        )
    record = _copied_record(ctx, source, bucket.id, directive, new_class)
    tags = tagging.copied(ctx.headers, source.tags)
    owner = policy.new_object_owner(bucket, acl, ctx.caller_id)
    # The copy's lock is its own request's (or the bucket's default), never the source's.
    lock = object_lock.new_version_lock(ctx, bucket, body=False)
    record = dataclasses.replace(record, acl=acl, owner_id=owner, tags=tags,
                                 version_id=new_version(bucket), lock=lock)  # fmt: skip

    async def commit(copied: ObjectRecord) -> ObjectRecord:
        try:
            stored_at = await ctx.meta.put_object(copied, condition, versioned(bucket))
        except S3Error as err:
            raise lost_race(err) from None
        return dated(copied, stored_at)  # what reads will show

    if tier_copy.needs_rewrite(ctx, record, bucket.tier):
        record = await tier_copy.rewritten(ctx, record, bucket.tier, commit)
    else:
        record = await commit(record)
    response = xml_response(copy_xml.copy_object_result(record))
    day = ctx.services.settings.lifecycle_day_seconds
    response.headers.extend(expiration_headers(bucket, record, day))
    response.headers.extend(version_headers(bucket, record))
    response.headers.extend(copy_source_version(ctx, source))
    return response


def copy_source_version(ctx: Context, source: ObjectRecord) -> list[tuple[str, str]]:
    """x-amz-copy-source-version-id: the version copied, from a versioned bucket."""
    source_bucket = ctx.source_bucket
    if source_bucket is None or not versioned(source_bucket):
        return []
    return [("x-amz-copy-source-version-id", shown(source.version_id))]


def _copied_record(
    ctx: Context, source: ObjectRecord, bucket_id: int, directive: str, new_class: str
) -> ObjectRecord:
    """Same blobs (immutable, so shared), new name; metadata copied or replaced."""
    copied = dataclasses.replace(
        source, bucket_id=bucket_id, key=ctx.key, last_modified=time.time(),
        storage_class=new_class,
    )  # fmt: skip
    if directive == "COPY":
        return dataclasses.replace(
            copied, system_headers=copied_system_headers(source.system_headers, ctx.headers)
        )
    return dataclasses.replace(
        copied,
        content_type=content_type(ctx.headers),
        system_headers=system_headers(ctx.headers),
        user_metadata=user_metadata(ctx.headers),
    )
