"""Applying buckets' lifecycle rules: expire objects, noncurrent versions and lone delete
markers, abort incomplete uploads, move Standard objects and noncurrent versions to the
Archive tier.

One pass re-scans every bucket that has rules, in pages of ``batch`` keys; each action
is one idempotent store write guarded by what the pass saw (the ETag and modification
time), so a pass cut short by a crash is simply run again, and an object changed
meanwhile is left alone. Expiring is what DeleteObject does (its blobs are released, the
collector removes them); a transition rewrites the bytes compressed into the Archive
tier's store through the writer service, then switches the record in one write."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from oortgate import logs
from oortgate.auth.payload import PayloadVerifier
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.errors import ACCESS_DENIED, S3Error
from oortgate.lifecycle.rules import Lifecycle, loads
from oortgate.lifecycle.schedule import (
    ObjectFacts,
    abort_due,
    expires_by,
    marker_expires,
    noncurrent_due,
    noncurrent_transition_due,
    transition_due,
)
from oortgate.meta.models import Bucket, InlineBody, ObjectRecord
from oortgate.meta.preconditions import Precondition
from oortgate.ops.body import Body
from oortgate.ops.context import Context, Services
from oortgate.ops.operations import Op, Route
from oortgate.ops.tier_copy import rewritten
from oortgate.ops.version_ids import new_version, versioned

BATCH = 500
LEASE = "lifecycle"
LEASE_SECONDS = 120.0  # renewed between batches; a crashed holder's passes resume after it


def interval(day_seconds: float, configured: float) -> float:
    """Seconds between passes: as configured, else a quarter day (at most an hour)."""
    return configured or min(day_seconds / 4, 3600.0)


Committed = Awaitable[ObjectRecord]  # a transition's commit of the moved record
CHANGED = frozenset({"PreconditionFailed", "NoSuchKey", "NoSuchUpload"})  # raced: skip


@dataclass(slots=True)
class Summary:
    buckets: int = 0
    scanned: int = 0
    expired: int = 0
    transitioned: int = 0
    aborted: int = 0
    failed: int = 0


Tick = Callable[[Summary], None]


async def apply_rules(
    services: Services,
    *,
    now: float | None = None,
    batch: int = BATCH,
    renew: Callable[[], Awaitable[bool]] | None = None,
    tick: Tick | None = None,
) -> Summary:
    """One pass over every bucket with rules. ``renew`` is awaited between batches
    (the caller's lease: once lost, the pass stops and the new holder's does the rest);
    ``tick`` is told of progress after each object."""
    summary = Summary()
    for bucket in await services.meta.lifecycle_buckets():
        if bucket.lifecycle is None:
            continue
        summary.buckets += 1
        pass_ = _BucketPass(services, bucket, loads(bucket.lifecycle), now or time.time(),
                            summary, tick)  # fmt: skip
        try:
            await pass_.objects(batch, renew)
            await pass_.noncurrent(batch, renew)
        except _LeaseLost:
            break
        await pass_.uploads(batch)
    return summary


class _LeaseLost(Exception):
    pass


@dataclass(slots=True)
class _KeyWalk:
    """What the noncurrent pass knows of the key whose versions it is walking."""

    key: str
    modified: float = 0.0  # the last version seen's last_modified (the next one's "since")
    newer: int = 0  # noncurrent versions seen (each newer than the next one)
    left: int = 0  # noncurrent versions kept
    marker: str | None = None  # the version id of its latest version, a delete marker
    marker_at: float = 0.0  # and when that marker was written


class _BucketPass:
    def __init__(self, services: Services, bucket: Bucket, lifecycle: Lifecycle, now: float,
                 summary: Summary, tick: Tick | None) -> None:  # fmt: skip
        self.services, self.bucket, self.lifecycle = services, bucket, lifecycle
        self.now, self.summary, self.tick = now, summary, tick
        self.day = services.settings.lifecycle_day_seconds
        self.tagged = any(r.filter.tags for r in lifecycle.rules)

    async def objects(self, batch: int, renew: Callable[[], Awaitable[bool]] | None) -> None:
        meta, start = self.services.meta, ""
        while True:
            page = await meta.list_objects(self.bucket.id, start_after=start, max_keys=batch)
            for listed in page.objects:
                try:
                    await self._object(listed)
                except Exception as exc:  # one object's failure never stops the pass
                    self.summary.failed += 1
                    logs.errors.error("lifecycle:" + logs.kind_of(exc),
                                      f"lifecycle rule on {self.bucket.name}", exc)  # fmt: skip
                self.summary.scanned += 1
                if self.tick is not None:
                    self.tick(self.summary)
            if not page.is_truncated or not page.objects:
                return
            start = page.objects[-1].key
            if renew is not None and not await renew():
                raise _LeaseLost

    async def _object(self, listed: ObjectRecord) -> None:
        record: ObjectRecord | None = listed
        if self.tagged:  # listings carry no tags
            record = await self.services.meta.get_object(self.bucket.id, listed.key)
            if record is None:
                return
        assert record is not None
        facts = ObjectFacts(record.key, record.size, record.last_modified, record.tags)
        if expires_by(self.lifecycle, facts, self.now, self.day):
            if await self._expire(record):
                self.summary.expired += 1
            return
        if record.storage_class != "STANDARD" or self.bucket.tier != STANDARD:
            return
        target = transition_due(self.lifecycle, facts, self.now, self.day)
        if target is not None and await self._transition(record.key, listed, target):
            self.summary.transitioned += 1

    async def _expire(self, record: ObjectRecord) -> bool:
        """The current version expires: deleted, or on a versioned bucket (as AWS does)
        made noncurrent by a delete marker."""
        condition = _unchanged(record)
        meta, bucket = self.services.meta, self.bucket
        try:
            if versioned(bucket):
                await self.services.freeing(meta.add_delete_marker, bucket.id, record.key,
                                            new_version(bucket), None, condition)  # fmt: skip
                return True
            return await self.services.freeing(
                meta.delete_object, bucket.id, record.key, condition
            )
        except S3Error as err:
            if err.code in CHANGED:
                return False
            raise

    async def _transition(self, key: str, listed: ObjectRecord, target: str) -> bool:
        meta = self.services.meta
        record = await meta.get_object(self.bucket.id, key)
        if record is None or record.etag != listed.etag or record.body is None:
            return False
        condition = _unchanged(record)

        async def commit(new: ObjectRecord) -> ObjectRecord:
            await meta.transition_object(new, condition)
            return new

        return await self._archive(record, target, commit)

    async def _archive(
        self, record: ObjectRecord, target: str, commit: Callable[[ObjectRecord], Committed]
    ) -> bool:
        """``record`` moved to ``target`` on the Archive tier by ``commit``, its blobs'
        bytes rewritten there first (inline bytes live in the metadata: nothing to
        rewrite); False if the object changed meanwhile."""
        moved = dataclasses.replace(record, storage_class=target)
        try:
            if isinstance(record.body, InlineBody):
                await commit(moved)
            else:
                ctx = _system_context(self.services, self.bucket, record.key)
                await rewritten(ctx, moved, ARCHIVE, commit, every_blob=True)
        except S3Error as err:
            if err.code in CHANGED:
                return False
            raise
        return True

    async def noncurrent(
        self, batch: int, renew: Callable[[], Awaitable[bool]] | None
    ) -> None:
        """NoncurrentVersionExpiration, NoncurrentVersionTransition and
        ExpiredObjectDeleteMarker: every key's versions, newest first; a version became
        noncurrent when the next newer one was written. A version id never changes, so
        removing one by its id needs no other guard; a key's lone delete marker is
        removed once all its versions were seen (after the next page is listed: the
        page marker may name it)."""
        rules = self.lifecycle.rules
        if not versioned(self.bucket) or not any(
            r.noncurrent_days is not None or r.nc_transition_class is not None
            or r.expired_marker or r.expiration_days is not None for r in rules
        ):  # fmt: skip
            return
        meta = self.services.meta
        kept: tuple[str, str | None] = ("", None)  # the last version left: the next page's marker
        walk = _KeyWalk("")
        while True:
            page = await meta.list_object_versions(self.bucket.id, key_marker=kept[0],
                                                   version_id_marker=kept[1],
                                                   max_keys=batch)  # fmt: skip
            for record, latest in page.versions:
                if record.key != walk.key:
                    await self._lone_marker(walk)
                    walk = _KeyWalk(record.key)
                    latest = True  # a key's newest version is current, or its marker
                since, walk.modified = walk.modified, record.last_modified
                if latest:
                    walk.marker = record.version_id if record.delete_marker else None
                    walk.marker_at = record.last_modified
                    kept = (record.key, record.version_id)
                    continue
                self.summary.scanned += 1
                if await self._noncurrent_goes(record, since, walk.newer):
                    self.summary.expired += 1
                else:
                    walk.left += 1
                    kept = (record.key, record.version_id)
                    if await self._noncurrent_moves(record, since, walk.newer):
                        self.summary.transitioned += 1
                walk.newer += 1
            if not page.is_truncated:
                await self._lone_marker(walk)
                return
            if renew is not None and not await renew():
                raise _LeaseLost

    async def _lone_marker(self, walk: _KeyWalk) -> None:
        """ExpiredObjectDeleteMarker: the walked key's latest version is a delete marker
        and none of its noncurrent versions is left."""
        if walk.marker is None or walk.left:
            return
        if not marker_expires(self.lifecycle, walk.key, walk.marker_at, self.now, self.day):
            return
        if await self.services.meta.expire_delete_marker(self.bucket.id, walk.key, walk.marker):
            self.summary.expired += 1

    async def _facts(self, record: ObjectRecord, since: float) -> ObjectFacts:
        tags = record.tags
        if self.tagged:  # listings carry no tags
            found = await self.services.meta.get_object_version(
                self.bucket.id, record.key, record.version_id
            )
            tags = found.tags if found is not None else {}
        return ObjectFacts(record.key, record.size, since, tags)

    async def _noncurrent_goes(self, record: ObjectRecord, since: float, newer: int) -> bool:
        facts = await self._facts(record, since)
        if not noncurrent_due(self.lifecycle, facts, newer, self.now, self.day):
            return False
        try:
            removed = await self.services.freeing(
                self.services.meta.delete_version, self.bucket.id, record.key, record.version_id
            )
        except S3Error as err:
            if err.code != ACCESS_DENIED:
                raise
            return False  # under object lock: it stays, as on AWS (tried again next run)
        return removed is not None

    async def _noncurrent_moves(self, listed: ObjectRecord, since: float, newer: int) -> bool:
        """NoncurrentVersionTransition: a Standard noncurrent version moves to the
        Archive tier, its bytes rewritten as a Transition rewrites a current one's."""
        if listed.delete_marker or listed.storage_class != "STANDARD":
            return False
        if self.bucket.tier != STANDARD:
            return False
        facts = await self._facts(listed, since)
        target = noncurrent_transition_due(self.lifecycle, facts, newer, self.now, self.day)
        if target is None:
            return False
        meta = self.services.meta
        record = await meta.get_object_version(self.bucket.id, listed.key, listed.version_id)
        if record is None or record.etag != listed.etag or record.body is None:
            return False

        async def commit(new: ObjectRecord) -> ObjectRecord:
            if not await meta.transition_version(new):
                raise S3Error("NoSuchKey", Key=new.key)  # gone meanwhile: the new blobs go
            return new

        return await self._archive(record, target, commit)

    async def uploads(self, batch: int) -> None:
        meta, key_marker, id_marker = self.services.meta, "", ""
        while True:
            page = await meta.list_uploads(
                self.bucket.id, key_marker=key_marker, upload_id_marker=id_marker,
                max_uploads=batch,
            )  # fmt: skip
            for upload in page.uploads:
                due = abort_due(self.lifecycle, upload.key, upload.initiated, self.now, self.day)
                if due and await self.services.freeing(meta.abort_upload, upload.upload_id):
                    self.summary.aborted += 1
            if not page.is_truncated or page.next_key_marker is None:
                return
            key_marker, id_marker = page.next_key_marker, page.next_upload_id_marker or ""


def _unchanged(record: ObjectRecord) -> Precondition:
    """The object as the pass saw it: same ETag, same modification time."""
    return Precondition(if_match=frozenset({record.etag}),
                        last_modified=int(record.last_modified))  # fmt: skip


async def _no_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _system_context(services: Services, bucket: Bucket, key: str) -> Context:
    """The context the writer service needs for the worker's own writes (no request:
    no caller, no body)."""
    body = Body(_no_body, PayloadVerifier({}, None), 0)
    route = Route(Op.CopyObject, bucket.name, key)
    return Context(services, route, "PUT", {}, {}, None, body, "lifecycle")
