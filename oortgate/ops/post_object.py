"""POST Object: browser form uploads authorised by a signed policy document.

The form streams in: fields first (kept, bounded), then the file, which is written to a
blob as it arrives once the policy has been checked. Fields after the file are ignored,
as S3 ignores them.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from oortgate import policy, xml
from oortgate.auth import post_policy
from oortgate.errors import S3Error
from oortgate.headertext import is_header_value
from oortgate.http.authenticate import credentials
from oortgate.http.context import Context
from oortgate.http.hosts import ARCHIVE
from oortgate.http.response import Response, empty, xml_response
from oortgate.meta.models import Bucket, ObjectRecord, User
from oortgate.ops.blobio import BlobSink
from oortgate.ops.metadata import (
    META_PREFIX,
    check_key,
    content_type,
    system_headers,
    user_metadata,
)

MAX_FIELDS_BYTES = 64 * 1024


def _malformed(message: str) -> S3Error:
    return S3Error("MalformedPOSTRequest", message, status=400)


class FormReader:
    """Feeds the body to the multipart parser; hands out fields, then the file's bytes."""

    def __init__(self, ctx: Context, boundary: str) -> None:
        self._chunks = ctx.body.chunks()
        self._parser = PushMultipartParser(boundary, max_segment_count=1000)
        self._pending: list[object] = []  # parser events: segment, data, None (end)
        self.fields: dict[str, str] = {}
        self.filename: str | None = None

    async def _events(self) -> AsyncIterator[object]:
        while True:
            while self._pending:
                yield self._pending.pop(0)
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                chunk = b""
            try:
                self._pending.extend(self._parser.parse(chunk))
            except MultipartError as exc:
                raise _malformed(f"The body of your POST request is not well-formed "
                                 f"multipart/form-data: {exc}") from exc  # fmt: skip
            if not chunk and not self._pending:
                return

    async def read_fields(self) -> None:
        """Read up to the start of the file part (which must come last, as in S3)."""
        total, name, value = 0, None, bytearray()
        async for event in self._events():
            if isinstance(event, MultipartSegment):
                if event.name is not None and event.name.lower() == "file":
                    self.filename = event.filename or ""
                    return
                name, value = (event.name or "").lower(), bytearray()
            elif event is None:
                if name is not None:
                    self.fields[name] = value.decode("utf-8", "replace")
                name = None
            elif isinstance(event, bytes | bytearray):
                total += len(event)
                if total > MAX_FIELDS_BYTES:
                    raise _malformed("Your POST request fields preceding the upload file "
                                     "were too large.")  # fmt: skip
                value += event
        raise S3Error("InvalidArgument", "POST requires exactly one file upload per request.",
                      ArgumentName="file", ArgumentValue="0")  # fmt: skip

    async def file_chunks(self) -> AsyncIterator[bytes]:
        async for event in self._events():
            if event is None:
                break
            if isinstance(event, bytes | bytearray):
                yield bytes(event)
        async for _ in self._events():  # the rest of the form: ignored
            pass


async def _uploader(ctx: Context, form: FormReader, bucket: Bucket) -> tuple[User | None, int]:
    """Check the form's signature and policy; the uploader and the maximum file size."""
    fields = form.fields
    creds = post_policy.form_credentials(fields)
    user = None
    limit = ctx.services.settings.max_object_size
    if creds is not None:
        if "policy" not in fields:
            raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'policy'.",
                          ArgumentName="policy")  # fmt: skip
        key, user = credentials(ctx.services, creds.access_key)
        region = ctx.services.settings.region
        post_policy.verify_signature(creds, fields["policy"], key.secret_key, region)
        doc = post_policy.PostPolicy.parse(fields["policy"])
        doc.check(fields, bucket.name, datetime.now(UTC))
        bounds = doc.content_length_range()
        if bounds is not None:
            limit = min(limit, bounds[1])
    if not policy.allows(bucket.acl, policy.WRITE, user.id if user else None, bucket.owner_id):
        raise S3Error("AccessDenied")
    return user, limit


async def post_object(ctx: Context) -> Response:
    bucket = await ctx.bucket()
    kind, options = parse_options_header(ctx.headers.get("content-type", ""))
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise S3Error("PreconditionFailed", "Bucket POST must be of the enclosure-type "
                      "multipart/form-data", Condition="Bucket POST must be of the "
                      "enclosure-type multipart/form-data")  # fmt: skip
    form = FormReader(ctx, options["boundary"])
    await form.read_fields()
    user, limit = await _uploader(ctx, form, bucket)
    record = await _store(ctx, form, bucket, user, limit)
    return _answer(form.fields, bucket, record)


def _record_fields(form: FormReader) -> tuple[str, dict[str, str], dict[str, str], str]:
    fields = form.fields
    key = fields.get("key")
    if not key:
        raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it "
                      "is specified, please check the order of the fields.",
                      ArgumentName="key")  # fmt: skip
    key = key.replace("${filename}", form.filename or "")
    check_key(key)
    meta = user_metadata({k: v for k, v in fields.items() if k.startswith(META_PREFIX)})
    system = system_headers(fields)
    return key, meta, system, policy.canned_acl(fields.get("acl"))


async def _store(
    ctx: Context, form: FormReader, bucket: Bucket, user: User | None, limit: int
) -> ObjectRecord:
    key, meta, system, acl = _record_fields(form)
    ctype = content_type(form.fields)
    sink = await BlobSink(ctx, limit, compressed=bucket.tier == ARCHIVE).open()
    try:
        async for chunk in form.file_chunks():
            await sink.write(chunk)
        stored = await sink.commit()
        doc = (
            post_policy.PostPolicy.parse(form.fields["policy"]) if "policy" in form.fields else None
        )
        bounds = doc.content_length_range() if doc else None
        if bounds is not None and stored.size < bounds[0]:
            raise S3Error("EntityTooSmall", ProposedSize=str(stored.size),
                          MinSizeAllowed=str(bounds[0]))  # fmt: skip
        record = ObjectRecord(
            bucket_id=bucket.id, key=key, blob_id=stored.blob_id, size=stored.size,
            etag=stored.md5.hex(), last_modified=time.time(),
            content_type=ctype,
            system_headers=system, user_metadata=meta, acl=acl,
            storage_class=ctx.services.settings.archive_storage_class
            if bucket.tier == ARCHIVE else "STANDARD",
            owner_id=user.id if user else None,
        )  # fmt: skip
        await ctx.services.db(ctx.meta.put_object, record)
    except BaseException:
        await sink.abort()
        raise
    return record


def _answer(fields: dict[str, str], bucket: Bucket, record: ObjectRecord) -> Response:
    etag = f'"{record.etag}"'
    # URL-encoded, as AWS sends it: a key may hold CR/LF, which no header can carry.
    location = f"/{bucket.name}/{quote(record.key, safe='/~')}"
    redirect = fields.get("success_action_redirect") or fields.get("redirect")
    if redirect and is_header_value(redirect):  # AWS ignores a URL it cannot use
        query = urlencode({"bucket": bucket.name, "key": record.key, "etag": etag})
        joiner = "&" if "?" in redirect else "?"
        return empty(303, [("location", f"{redirect}{joiner}{query}"), ("etag", etag)])
    status = fields.get("success_action_status", "204")
    if status == "201":
        root = xml.Node("PostResponse")
        root.add("Location", location)
        root.add("Bucket", bucket.name)
        root.add("Key", record.key)
        root.add("ETag", etag)
        response = xml_response(root, 201)
        response.headers += [("etag", etag), ("location", location)]
        return response
    code = 200 if status == "200" else 204
    return empty(code, [("etag", etag), ("location", location)])
