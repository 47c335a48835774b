"""GetObject and HeadObject: conditionals, ranges, response-* overrides, streaming."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator

from oortgate import integrity, logs
from oortgate.errors import BodyCut, S3Error
from oortgate.headertext import is_header_value
from oortgate.meta.models import Body, InlineBody, ObjectRecord, PartsBody, blob_segments
from oortgate.ops import conditions, object_lock, read_lease
from oortgate.ops.archive import check_readable, restore_headers
from oortgate.ops.bucket_lifecycle import expiration_headers
from oortgate.ops.context import Context
from oortgate.ops.metadata import object_headers
from oortgate.ops.ranges import parse_range
from oortgate.ops.response import Response
from oortgate.ops.segments import part_range, read_body
from oortgate.ops.version_ids import version_headers
from oortgate.storage.base import BlobDamaged, BlobNotFound

OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


def _part_span(ctx: Context, body: Body) -> tuple[int, int] | None:
    """The byte span of ?partNumber=N: a part of a multipart object; part 1 of a plain
    object is all of it (None: the whole object)."""
    number = ctx.route.part_number
    if number is None:
        return None
    parts = body.parts if isinstance(body, PartsBody) else ()
    count = len(parts) or 1
    if number > count:
        raise S3Error(
            "InvalidPartNumber",
            "The requested partnumber is not satisfiable",
            status=416,
            PartNumberRequested=str(number),
            ActualPartCount=str(count),
        )
    if not parts:
        return None
    return part_range(parts, number)


async def get_object(ctx: Context) -> Response:
    return await _read(ctx, head=False)


async def head_object(ctx: Context) -> Response:
    return await _read(ctx, head=True)


async def _read(ctx: Context, *, head: bool, again: bool = False) -> Response:
    record = ctx.granted_object
    body = record.body
    assert body is not None  # a record from get_object (only a listing's has none)
    if conditions.evaluate(ctx.headers, record.etag, record.last_modified) == "not-modified":
        return Response(304, object_headers(record, checksums=False)[:2])
    if not head:
        check_readable(ctx, record)
    part = _part_span(ctx, body)
    by_part = ctx.route.part_number is not None
    span = part if by_part else parse_range(ctx.headers.get("range"), record.size)
    whole = span is None
    first, last = (0, record.size - 1) if span is None else span
    length = last - first + 1
    checksums = whole and ctx.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED"
    headers = _with_overrides(ctx, object_headers(record, checksums=checksums))
    headers.extend(restore_headers(ctx, record))
    headers.extend(
        expiration_headers(ctx.granted_bucket, record, ctx.services.settings.lifecycle_day_seconds)
    )
    headers.extend(version_headers(ctx.granted_bucket, record))
    headers.extend(await object_lock.lock_headers(ctx, ctx.granted_bucket, record))
    status = 200
    if not whole:
        status = 206
        headers.append(("content-range", f"bytes {first}-{last}/{record.size}"))
    if by_part and isinstance(body, PartsBody):
        headers.append(("x-amz-mp-parts-count", str(len(body.parts))))
    if head or length == 0:
        return Response(status, headers, b"", content_length=length)
    match body:
        case InlineBody(data=data, crc64=crc64):  # small: the bytes came with the lookup
            if crc64 is not None and integrity.of(data) != crc64:
                raise _damaged(ctx, record, "inline bytes do not match their CRC-64")
            return Response(status, headers, data[first : first + length], length)
    try:
        stream = await _open_stream(ctx, record, body, first, length)
    except BlobNotFound as exc:
        return await _look_again(ctx, record, exc, again)
    return Response(status, headers, stream, content_length=length)


async def _look_again(ctx: Context, record: ObjectRecord, missing: BlobNotFound,
                      again: bool) -> Response:  # fmt: skip
    """The blob went missing between the lookup and the open (no status line is out).
    Mostly a lost race: the key was overwritten or deleted meanwhile and the collector
    (with grace 0) took the old bytes. Answer as a request that came after it would:
    look the key up again, once (authorize() anew: the new object's ACL, the delete
    marker's headers, NoSuchKey or NoSuchVersion) and read what it now points at. The
    same body still there is damage: its bytes are gone for good."""
    if again:  # lost the race twice in one request: the client may simply ask again
        if await _still_current(ctx, ctx.granted_object):
            raise _damaged(ctx, ctx.granted_object, f"blob {missing} is missing")
        raise S3Error("InternalError")
    await ctx.authorize()
    if ctx.granted_object.body == record.body:
        raise _damaged(ctx, record, f"blob {missing} is missing")
    return await _read(ctx, head=False, again=True)


def _with_overrides(ctx: Context, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """response-content-type & co. replace the stored headers of the same name."""
    chosen = {header: ctx.query[param] for param, header in OVERRIDES.items() if param in ctx.query}
    if not chosen:
        return headers
    for param, header in OVERRIDES.items():
        if header in chosen and not is_header_value(chosen[header]):
            raise S3Error("InvalidArgument", f"Invalid value for the {param} parameter",
                          ArgumentName=param, ArgumentValue=chosen[header])  # fmt: skip
    return [(k, v) for k, v in headers if k not in chosen] + list(chosen.items())


async def _open_stream(
    ctx: Context, record: ObjectRecord, body: Body, first: int, length: int
) -> AsyncIterator[bytes]:
    """Open the blob before the status line goes out, so a missing blob is an error
    response rather than a truncated body; once open, a concurrent delete cannot
    take the bytes away (a large or multipart object's blobs are leased for that)."""
    lease: str | None = None
    chunks = read_body(ctx.services.blobs, body, first, length)
    try:
        lease = await read_lease.take(ctx.meta, blob_segments(body))
        head = await anext(chunks, b"")
    except BaseException as exc:
        await chunks.aclose()
        await read_lease.release(ctx.meta, lease)
        if isinstance(exc, BlobDamaged):
            raise _damaged(ctx, record, str(exc)) from None
        raise
    return _LeasedStream(head, chunks, ctx, record, lease)


class _LeasedStream:
    """The response body once its first bytes are read: the rest of the stream, then the
    blob closed and the lease dropped, also when the response ends without reading it
    (the client went away before the status line; the server calls ``aclose``)."""

    def __init__(self, head: bytes, chunks: AsyncGenerator[bytes, None], ctx: Context,
                 record: ObjectRecord, lease: str | None) -> None:  # fmt: skip
        self._head, self._chunks, self._lease = head, chunks, lease
        self._ctx, self._record = ctx, record
        self._closed = False

    def __aiter__(self) -> _LeasedStream:
        return self

    async def __anext__(self) -> bytes:
        if self._head:
            head, self._head = self._head, b""
            return head
        try:
            return await anext(self._chunks)
        except (BlobNotFound, BlobDamaged) as exc:
            # The status line is out: only a cut connection tells the client the body is
            # short (it then sees fewer bytes than Content-Length), never a short success.
            _damaged(self._ctx, self._record, f"{type(exc).__name__}: {exc}")
            await self.aclose()
            raise BodyCut() from None
        except BaseException:  # StopAsyncIteration too: the end
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._chunks.aclose()
        finally:
            await read_lease.release(self._ctx.meta, self._lease)


async def _still_current(ctx: Context, record: ObjectRecord) -> bool:
    """Whether the version read is still there (a blob missing then is damage)."""
    if ctx.route.version_id is not None:
        now = await ctx.meta.get_object_version(record.bucket_id, record.key, record.version_id)
    else:
        now = await ctx.meta.get_object(record.bucket_id, record.key)
    return now is not None and now.body == record.body


def _damaged(ctx: Context, record: ObjectRecord, why: str) -> S3Error:
    logs.errors.error(
        f"damaged:{record.bucket_id}/{record.key}",
        f"damaged object: bucket id {record.bucket_id} key {record.key!r} ({why})",
    )
    return S3Error("InternalError", "The object's stored data is damaged; it cannot be read.")
