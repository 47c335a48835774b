"""POST Object: browser form uploads authorised by a signed policy document.

The form streams in: fields first (kept, bounded), then the file, which is written to a
blob as it arrives once the policy has been checked. Fields after the file are ignored,
as S3 ignores them. A refusal is answered once the rest of the body has been read (up to
a bound), so that the client, still sending its file, reads the error instead of a reset.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header

from oortgate import policy, tagging
from oortgate.auth import post_policy
from oortgate.auth.checksums import header_name
from oortgate.errors import S3Error
from oortgate.headertext import is_header_value
from oortgate.meta.models import Bucket, ObjectRecord, User, dated
from oortgate.numbers import parse_count
from oortgate.ops import object_lock
from oortgate.ops.blob_writer import StoredBlob, write_chunks
from oortgate.ops.context import Context, credentials
from oortgate.ops.metadata import (
    META_PREFIX,
    check_key,
    content_type,
    storage_class,
    system_headers,
    user_metadata,
)
from oortgate.ops.post_fields import Integrity, object_url, redirect_url, reject_unsupported
from oortgate.ops.response import Response, empty, xml_response
from oortgate.ops.version_ids import new_version, version_headers, versioned
from oortgate.xml import post as post_xml

MAX_FIELDS_BYTES = 64 * 1024
# A refused form is read to its end before the answer when what remains of it is at most
# DRAIN_LIMIT: the file follows the policy in the form, so the client is mid-upload when
# the policy fails, and a server that closes on unread bytes makes the client's TCP stack
# report a reset, not the 403. 64 MiB bounds the waste (about a second on a LAN, and
# browser forms are mostly smaller); larger remainders get "Connection: close" and no drain.
DRAIN_LIMIT = 64 * 1024 * 1024
DRAIN_SECONDS = 20.0


def _malformed(message: str) -> S3Error:
    return S3Error("MalformedPOSTRequest", message, status=400)


class FormReader:
    """Feeds the body to the multipart parser; hands out fields, then the file's bytes."""

    def __init__(self, chunks: AsyncIterator[bytes], boundary: str) -> None:
        self._chunks = chunks
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
                    self._substitute_filename()
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

    def _substitute_filename(self) -> None:
        # Before the policy sees the key: AWS checks its conditions against the key the
        # object gets (["starts-with", "$key", "foo"] admits "${filename}" for foo.txt).
        if "key" in self.fields:
            self.fields["key"] = self.fields["key"].replace("${filename}", self.filename or "")

    async def file_chunks(self) -> AsyncIterator[bytes]:
        async for event in self._events():
            if event is None:
                break
            if isinstance(event, bytes | bytearray):
                yield bytes(event)
        async for _ in self._events():  # the rest of the form: ignored
            pass


async def _uploader(
    ctx: Context, fields: dict[str, str], bucket: Bucket
) -> tuple[User | None, post_policy.PostPolicy | None]:
    """Check the form's signature and policy: the uploader and the policy (None for an
    anonymous form)."""
    creds = post_policy.form_credentials(fields)
    user, doc = None, None
    if creds is not None:
        if "policy" not in fields:
            raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'policy'.",
                          ArgumentName="policy")  # fmt: skip
        key, user = await credentials(ctx.services, creds.access_key)
        region = ctx.services.settings.region
        post_policy.verify_signature(creds, fields["policy"], key.secret_key, region)
        doc = post_policy.PostPolicy.parse(fields["policy"])
        doc.check(fields, bucket.name, datetime.now(UTC))
    ctx.authorize_form(bucket, user, fields.get("key"))
    return user, doc


async def post_object(ctx: Context) -> Response:
    chunks = ctx.body.chunks()
    try:
        bucket = await ctx.bucket()
        kind, options = parse_options_header(ctx.headers.get("content-type", ""))
        if kind != "multipart/form-data" or not options.get("boundary"):
            raise S3Error("PreconditionFailed", "Bucket POST must be of the enclosure-type "
                          "multipart/form-data", Condition="Bucket POST must be of the "
                          "enclosure-type multipart/form-data")  # fmt: skip
        form = FormReader(chunks, options["boundary"])
        await form.read_fields()
        user, doc = await _uploader(ctx, form.fields, bucket)
        record = await _store(ctx, form, bucket, user, doc)
    except S3Error as err:
        if not await _drain(ctx, chunks):
            err.headers["connection"] = "close"
        raise
    return _answer(ctx, form.fields, bucket, record)


async def _drain(ctx: Context, chunks: AsyncIterator[bytes]) -> bool:
    """Read and drop the rest of a refused form, if it is at most DRAIN_LIMIT and
    arrives within DRAIN_SECONDS; whether the body was read to its end."""
    if ctx.headers.get("expect", "").lower() == "100-continue" and not ctx.body.received:
        return True  # the client waits for "100 Continue": it has sent nothing yet
    declared = parse_count(ctx.headers.get("content-length"))
    if declared is not None and declared - ctx.body.received > DRAIN_LIMIT:
        return False
    with contextlib.suppress(S3Error, TimeoutError):  # a client gone, or too slow
        async with asyncio.timeout(DRAIN_SECONDS):
            async for _ in chunks:
                if ctx.body.received > DRAIN_LIMIT + MAX_FIELDS_BYTES:  # no Content-Length
                    return False
            return True
    return False


def _draft(ctx: Context, form: FormReader, bucket: Bucket, user: User | None) -> ObjectRecord:
    """The object the form describes, every field validated before the file is read."""
    fields = form.fields
    key = fields.get("key")
    if not key:
        raise S3Error("InvalidArgument", "Bucket POST must contain a field named 'key'.  If it "
                      "is specified, please check the order of the fields.",
                      ArgumentName="key")  # fmt: skip
    check_key(key)
    reject_unsupported(fields)
    archive_class = ctx.services.settings.archive_storage_class
    acl = policy.canned_acl(fields.get("acl"))
    return ObjectRecord(
        bucket_id=bucket.id, key=key, body=None, size=0, etag="", last_modified=0.0,
        content_type=content_type(fields),
        system_headers=system_headers(fields),  # validated as a PUT's headers are
        user_metadata=user_metadata({k: v for k, v in fields.items() if k.startswith(META_PREFIX)}),
        acl=acl,
        storage_class=storage_class(fields, bucket, archive_class),
        owner_id=policy.new_object_owner(bucket, acl, user.id if user else None),
        tags=tagging.parse_form_field(fields.get("tagging")),
        lock=object_lock.default_lock(bucket),  # (lock fields are refused: post_fields.py)
    )  # fmt: skip


async def _store(
    ctx: Context,
    form: FormReader,
    bucket: Bucket,
    user: User | None,
    doc: post_policy.PostPolicy | None,
) -> ObjectRecord:
    draft = _draft(ctx, form, bucket, user)
    if "acl" in form.fields:  # asked for: the bucket's settings may refuse it
        policy.admit_acl(bucket, draft.acl, draft.owner_id)
    integrity = Integrity.from_fields(form.fields)
    bounds = doc.content_length_range() if doc else None
    limit = ctx.services.settings.max_object_size
    if bounds is not None:
        limit = min(limit, bounds[1])

    async def commit(stored: StoredBlob) -> ObjectRecord:
        if bounds is not None and stored.size < bounds[0]:
            raise S3Error("EntityTooSmall", ProposedSize=str(stored.size),
                          MinSizeAllowed=str(bounds[0]))  # fmt: skip
        integrity.verify(stored.md5, stored.checksum)
        record = dataclasses.replace(
            draft, body=stored.body, size=stored.size, etag=stored.md5.hex(),
            last_modified=time.time(), checksums=dict([stored.checksum]) if stored.checksum else {},
            version_id=new_version(bucket),
        )  # fmt: skip
        stored_at = await ctx.meta.put_object(record, None, versioned(bucket))
        return dated(record, stored_at)

    return await write_chunks(ctx, form.file_chunks(), commit, limit=limit,
                              compute=integrity.algorithm, tier=bucket.tier)  # fmt: skip


def _answer(ctx: Context, fields: dict[str, str], bucket: Bucket, record: ObjectRecord) -> Response:
    etag = f'"{record.etag}"'
    headers = [("etag", etag), *version_headers(bucket, record)]
    headers += [(header_name(alg), value) for alg, value in record.checksums.items()]
    target = fields.get("success_action_redirect") or fields.get("redirect")
    # A target no header can carry (CR/LF) is one AWS cannot use either: ignored.
    usable = target and is_header_value(target)
    redirect = redirect_url(target, bucket.name, record.key, etag) if target and usable else None
    if redirect is not None:
        return empty(303, [("location", redirect), *headers])
    virtual = ctx.addressed.bucket is not None
    location = object_url(ctx.headers.get("host", ""), None if virtual else bucket.name, record.key)
    headers.append(("location", location))
    status = fields.get("success_action_status", "204")
    if status == "201":
        body = post_xml.post_response(location, bucket.name, record.key, etag)
        response = xml_response(body, 201)
        response.headers += headers
        return response
    return empty(200 if status == "200" else 204, headers)
