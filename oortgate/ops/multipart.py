"""Multipart uploads: create, upload a part (or copy one), complete, abort.

A completed object is a manifest of its part blobs: no byte is copied, so completing
10,000 parts costs one metadata transaction whatever the size.
"""

from __future__ import annotations

import dataclasses
import secrets
import time

from oortgate import logs, policy, tagging
from oortgate.auth.checksums import content_md5, header_name
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.errors import S3Error
from oortgate.meta.models import (
    Body,
    ObjectRecord,
    Part,
    PartsBody,
    Segment,
    Upload,
    blob_segments,
    dated,
)
from oortgate.ops import object_lock, read_lease
from oortgate.ops.blob_writer import StoredBlob, write_body, write_chunks
from oortgate.ops.bucket_lifecycle import expiration_headers
from oortgate.ops.conditions import parse_http_date
from oortgate.ops.context import Context
from oortgate.ops.metadata import (
    content_type,
    storage_class,
    system_headers,
    user_metadata,
)
from oortgate.ops.multipart_math import (
    check_declared,
    checksum_settings,
    multipart_etag,
    object_checksum,
    select_parts,
)
from oortgate.ops.multipart_retry import upload_gone
from oortgate.ops.object_write import copy_source, declared_size, write_target
from oortgate.ops.ranges import parse_copy_range
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.segments import read_body
from oortgate.ops.version_ids import new_version, version_headers, versioned
from oortgate.ops.write_conditions import check_early, lost_race, write_condition
from oortgate.storage.base import BlobDamaged, BlobNotFound
from oortgate.xml import copy as copy_xml
from oortgate.xml import multipart as multipart_xml

MAX_PART_SIZE = 5 * 1024**3
MAX_COMPLETE_XML = 10000 * 256 + 4096


def upload_tier(upload: Upload) -> str:
    """The tier of the upload's bucket (its storage class says which)."""
    return STANDARD if upload.storage_class == "STANDARD" else ARCHIVE


def new_upload_id() -> str:
    """Opaque, URL-safe, and sorting in initiation order (S3 lists a key's uploads in
    initiation order and compares upload-id-marker lexicographically)."""
    return f"{time.time_ns():016x}" + secrets.token_urlsafe(30)


async def open_upload(ctx: Context) -> Upload:
    """The upload named by ?uploadId, which must belong to this bucket and key."""
    upload_id = ctx.route.upload_id
    upload = await ctx.meta.get_upload(upload_id)
    if upload is None or upload.bucket_id != ctx.granted_bucket.id or upload.key != ctx.key:
        raise S3Error("NoSuchUpload", UploadId=upload_id)
    return upload


async def create_multipart_upload(ctx: Context) -> Response:
    bucket, acl = await write_target(ctx)
    algorithm, kind = checksum_settings(
        ctx.headers.get("x-amz-checksum-algorithm"), ctx.headers.get("x-amz-checksum-type")
    )
    upload = Upload(
        upload_id=new_upload_id(),
        bucket_id=bucket.id,
        key=ctx.key,
        initiated=time.time(),
        content_type=content_type(ctx.headers),
        system_headers=system_headers(ctx.headers),
        user_metadata=user_metadata(ctx.headers),
        storage_class=storage_class(
            ctx.headers, bucket, ctx.services.settings.archive_storage_class
        ),
        checksum_algorithm=algorithm,
        checksum_type=kind,
        acl=acl,
        owner_id=policy.new_object_owner(bucket, acl, ctx.caller_id),
        tags=tagging.parse_header(ctx.headers.get("x-amz-tagging")),
        lock=object_lock.requested_lock(ctx, bucket, body=False),
    )
    await ctx.body.drain()
    await ctx.meta.create_upload(upload)
    body = multipart_xml.initiate_result(ctx.route.bucket or "", ctx.key, upload.upload_id)
    response = xml_response(body)
    if algorithm and kind:
        response.headers += [("x-amz-checksum-algorithm", algorithm), ("x-amz-checksum-type", kind)]
    return response


async def upload_part(ctx: Context) -> Response:
    number = ctx.route.part_number
    assert number is not None  # required: ops/params.py
    upload = await open_upload(ctx)
    declared = declared_size(ctx)
    if declared is not None and declared > MAX_PART_SIZE:
        raise S3Error(
            "EntityTooLarge", ProposedSize=str(declared), MaxSizeAllowed=str(MAX_PART_SIZE)
        )
    expected_md5 = content_md5(ctx.headers)

    async def commit(stored: StoredBlob) -> tuple[Part, tuple[str, str] | None]:
        checksum = stored.checksum[1] if stored.checksum and upload.checksum_algorithm else None
        part = Part(number, stored.blob_id, stored.size, stored.md5.hex(), time.time(),
                    checksum, stored.crc64)  # fmt: skip
        # Refused if completed or aborted meanwhile; the time is the one stored.
        stored_at = await ctx.meta.put_part(upload.upload_id, part)
        return dataclasses.replace(part, last_modified=stored_at), stored.checksum

    part, checksum = await write_body(ctx, commit, limit=MAX_PART_SIZE, expected_md5=expected_md5,
                                      compute=upload.checksum_algorithm,
                                      tier=upload_tier(upload))  # fmt: skip
    headers = [("etag", f'"{part.etag}"')]
    if checksum:
        headers.append((header_name(checksum[0]), checksum[1]))
    return empty(200, headers)


async def upload_part_copy(ctx: Context) -> Response:
    number = ctx.route.part_number
    assert number is not None  # required: ops/params.py
    upload = await open_upload(ctx)
    await ctx.body.drain()
    source = copy_source(ctx)
    first, last = parse_copy_range(ctx.headers.get("x-amz-copy-source-range"), source.size)
    if last - first + 1 > MAX_PART_SIZE:
        raise S3Error("InvalidRequest", "The specified copy range is larger than the maximum "
                      "allowable size for a part: 5368709120")  # fmt: skip
    assert source.body is not None  # a record from get_object (only a listing's has none)
    part = await _copy_part(ctx, upload, number, source.body, first, last - first + 1)
    return xml_response(copy_xml.copy_part_result(part, upload.checksum_algorithm))


async def _copy_part(
    ctx: Context, upload: Upload, number: int, source: Body, first: int, length: int
) -> Part:
    """Copy bytes into a new part blob (a range may cut through the source's blobs)."""

    async def commit(stored: StoredBlob) -> Part:
        value = stored.checksum[1] if stored.checksum else None
        part = Part(number, stored.blob_id, stored.size, stored.md5.hex(), time.time(), value,
                    stored.crc64)  # fmt: skip
        # Refused if completed or aborted meanwhile; the time is the one ListParts shows.
        stored_at = await ctx.meta.put_part(upload.upload_id, part)
        return dataclasses.replace(part, last_modified=stored_at)

    lease: str | None = None
    chunks = read_body(ctx.services.blobs, source, first, length)
    try:
        lease = await read_lease.take(ctx.meta, blob_segments(source))
        return await write_chunks(ctx, chunks, commit, limit=MAX_PART_SIZE,
                                  compute=upload.checksum_algorithm,
                                  tier=upload_tier(upload))  # fmt: skip
    except BlobDamaged as exc:  # the new blob is discarded already
        logs.errors.error(f"damaged-copy:{exc}", f"damaged copy source: {exc}")
        raise S3Error("InternalError", "The copy source's stored data is damaged.") from None
    except BlobNotFound as exc:
        raise S3Error("NoSuchKey", "The copy source was replaced during the copy.") from exc
    finally:
        await chunks.aclose()
        await read_lease.release(ctx.meta, lease)


async def complete_multipart_upload(ctx: Context) -> Response:
    condition = write_condition(ctx.headers)
    try:
        upload = await open_upload(ctx)
    except S3Error as err:
        if err.code != "NoSuchUpload":
            raise
        requested = multipart_xml.parse_complete(await ctx.body.read(MAX_COMPLETE_XML))
        return _completed(ctx, await upload_gone(ctx, requested, condition, midway=False))
    requested = multipart_xml.parse_complete(await ctx.body.read(MAX_COMPLETE_XML))
    await check_early(ctx, upload.bucket_id, upload.key, condition)
    stored = {p.part_number: p for p in await ctx.meta.list_parts(upload.upload_id)}
    try:
        used = select_parts(requested, stored)
        record = _completed_record(ctx, upload, used)
        check_declared(ctx.headers, upload.checksum_algorithm, upload.checksum_type, record.size)
        stored_at = await ctx.meta.complete_upload(upload.upload_id, record, used, condition,
                                                   versioned(ctx.granted_bucket))  # fmt: skip
        record = dated(record, stored_at)
    except S3Error as err:
        # A complete or abort that won a race took the parts away: say so (or replay
        # it), rather than blaming the client's (correct) part list.
        if err.code not in ("InvalidPart", "NoSuchUpload"):
            raise lost_race(err) from None
        if await ctx.meta.get_upload(upload.upload_id) is not None:
            raise
        record = await upload_gone(ctx, requested, condition, midway=True)
    return _completed(ctx, record)


def _completed(ctx: Context, record: ObjectRecord) -> Response:
    body = multipart_xml.complete_result(ctx.route.bucket or "", ctx.key, record)
    response = xml_response(body)
    day = ctx.services.settings.lifecycle_day_seconds
    response.headers.extend(expiration_headers(ctx.granted_bucket, record, day))
    response.headers.extend(version_headers(ctx.granted_bucket, record))
    return response


def _completed_record(ctx: Context, upload: Upload, used: list[Part]) -> ObjectRecord:
    checksums: dict[str, str] = {}
    if upload.checksum_algorithm and upload.checksum_type:
        value = object_checksum(upload.checksum_algorithm, upload.checksum_type, used)
        if value is not None:
            _check_full_object(ctx, upload.checksum_algorithm, value)
            checksums[upload.checksum_algorithm] = value
    return ObjectRecord(
        bucket_id=upload.bucket_id,
        key=upload.key,
        body=PartsBody(
            tuple(Segment(p.blob_id, p.size, p.part_number, p.checksum, p.crc64) for p in used)
        ),
        size=sum(p.size for p in used),
        etag=multipart_etag(used),
        last_modified=time.time(),
        content_type=upload.content_type,
        system_headers=upload.system_headers,
        user_metadata=upload.user_metadata,
        checksums=checksums,
        storage_class=upload.storage_class,
        acl=upload.acl,
        owner_id=upload.owner_id,
        tags=upload.tags,
        version_id=new_version(ctx.granted_bucket),
        # The headers' lock, as the upload kept it; else the default retention, from now.
        lock=upload.lock or object_lock.default_lock(ctx.granted_bucket),
    )


def _check_full_object(ctx: Context, algorithm: str, value: str) -> None:
    """On completion, an x-amz-checksum-* header is the whole object's checksum."""
    sent = ctx.headers.get(header_name(algorithm))
    if sent is not None and sent != value.split("-")[0] and sent != value:
        raise S3Error("BadDigest", f"The {algorithm} you specified did not match the "
                      "calculated checksum.")  # fmt: skip


async def abort_multipart_upload(ctx: Context) -> Response:
    initiated = ctx.headers.get("x-amz-if-match-initiated-time")
    try:
        upload = await open_upload(ctx)
        if initiated is not None and not _initiated_at(upload, initiated):
            raise S3Error("PreconditionFailed", Condition="x-amz-if-match-initiated-time")
        if not await ctx.services.freeing(ctx.meta.abort_upload, upload.upload_id):
            raise S3Error("NoSuchUpload", UploadId=upload.upload_id)
    except S3Error as err:
        # With the condition, an upload already gone is a success (AWS).
        if err.code != "NoSuchUpload" or initiated is None:
            raise
    return empty(204)


def _initiated_at(upload: Upload, value: str) -> bool:
    """x-amz-if-match-initiated-time: an HTTP date, so compared to the second."""
    moment = parse_http_date(value)
    if moment is None:
        raise S3Error("InvalidArgument", "Invalid x-amz-if-match-initiated-time.",
                      ArgumentName="x-amz-if-match-initiated-time",
                      ArgumentValue=value)  # fmt: skip
    return int(moment) == int(upload.initiated)
