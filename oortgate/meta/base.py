"""The metadata store interface. Handlers use only this; SQL lives in implementations.

Every method is a coroutine and atomic (one transaction); handlers await them on the
event loop, so an implementation must never block it for long (a thread, or an async
driver). A write returns only once it is durable. Errors that cross this seam are
``S3Error``s, ``ValueError`` (as documented per method) or ``StorageFull``: never a
database driver's own exception for an expected outcome.

Blob lifecycle (how a crash never loses or leaks a blob, with any number of writers):
0. every writing worker process registers a session (``open_session``) and heartbeats;
1. ``add_pending_blob(id)`` before a blob file is written (the mark names the session);
2. ``put_object(record)`` commits the object, clears the pending mark and counts the
   reference on the blob's row in one transaction (or ``drop_pending_blob(id)`` when
   the upload failed); a copy counts one more reference, guarded: a blob whose count
   reached 0 cannot be referenced again;
3. a row that stops referencing a blob (overwrite, delete) takes one from its count in
   the same transaction; at 0 the blob is queued as garbage; a collector claims it
   (``take_garbage`` deletes the row) and then deletes the bytes;
4. only dead sessions' leftovers are reaped (``end_sessions``: their pending marks become
   garbage; ``recover_pending``: marks of no session), by whoever sweeps: a live session's
   pending blobs and temp files are never touched. Files no record knows of are swept
   at start-up (see ``oortgate.gc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from oortgate.errors import S3Error
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER, AccountsMeta
from oortgate.meta.base_versions import VersionedMeta
from oortgate.meta.models import (
    CompletedUpload,
    MetaCounts,
    ObjectPage,
    ObjectRecord,
    Part,
    Session,
    StorageUsage,
    Upload,
    UploadPage,
)
from oortgate.meta.preconditions import Precondition

__all__ = ["MAX_KEYS_PER_USER", "MetaStore"]  # (the limit's old home: importers keep it)


class MetaStore(AccountsMeta, VersionedMeta, Protocol):
    # -- objects --------------------------------------------------------------------
    async def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None:
        """The object with its typed body (InlineBody with its bytes, BlobBody, or
        PartsBody with every part), all read from one state of the store."""
        ...

    async def put_object(
        self, record: ObjectRecord, condition: Precondition | None = None, versioned: bool = False
    ) -> float:
        """Create or replace (bucket_id, key); returns its last_modified as stored (the
        record's, or the database clock's on a store that takes it there: what every
        later read shows, hence what the response must show). Each of record.blob_ids
        must be pending (a new upload: the mark is cleared) or already referenced (a
        copy); else raises S3Error NoSuchKey (the copy source vanished). An InlineBody's
        bytes are stored in the same transaction instead (a copy's share the source's
        stored bytes). A replaced blob left without references is queued as garbage (an
        inline one is dropped at once). With a condition, the current object is checked
        in the same transaction (see preconditions.check): if it fails, its S3Error is
        raised and nothing changes. ``versioned`` (the bucket's versioning is Enabled or
        Suspended): the record is version ``record.version_id`` ('' the null version)
        and the key's current version is kept as a noncurrent one, unless both are null
        (see oortgate.meta.versions); a noncurrent null version is replaced by a new
        null one. The condition applies to the current version."""
        ...

    async def transition_object(self, record: ObjectRecord, condition: Precondition) -> None:
        """``put_object``, keeping ``record.last_modified`` (a lifecycle transition moves
        the bytes and changes the storage class; for its readers the object is the same,
        and its rules' days still count from its last real change)."""
        ...

    async def delete_object(
        self, bucket_id: int, key: str, condition: Precondition | None = None
    ) -> bool:
        """True if the key existed. Its blob, if now unreferenced, is queued as garbage.
        A failed condition raises its S3Error (checked in the same transaction)."""
        ...

    async def delete_objects(
        self,
        bucket_id: int,
        keys: Sequence[str],
        conditions: Sequence[Precondition | None] = (),
    ) -> list[S3Error | None]:
        """``delete_object`` for each key, in one transaction (DeleteObjects: up to 1,000
        keys for one commit, not one each); conditions[i], if any, guards keys[i]. Returns
        per key None (deleted, or absent) or the error of its failed condition."""
        ...

    async def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """Keys > start_after beginning with prefix, in UTF-8 byte order. With a
        delimiter, keys sharing prefix + ... + delimiter roll up into one common
        prefix (counted once against max_keys). O(log n + page): each common prefix
        is skipped with an index seek, never by scanning its keys. The records hold
        what a listing shows: key, size, etag, last_modified, checksums, storage_class
        and owner_id (no body, no headers or metadata)."""
        ...

    async def set_object_acl(
        self, bucket_id: int, key: str, acl: str, version_id: str | None = None
    ) -> bool:
        """False if there is no such object (or version: a delete marker has no ACL)."""
        ...

    async def set_object_tags(
        self, bucket_id: int, key: str, tags: dict[str, str], version_id: str | None = None
    ) -> bool:
        """Replace the object's (or that version's) tag set (empty: remove it); False if
        no such object or version."""
        ...

    async def has_objects(self, bucket_id: int) -> bool:
        """Whether it holds objects, noncurrent versions or delete markers."""
        ...

    # -- multipart uploads ----------------------------------------------------------
    async def create_upload(self, upload: Upload) -> float:
        """Returns its ``initiated`` as stored (on PostgreSQL the database clock's, like
        put_object's last_modified: ``upload.initiated`` is then ignored)."""
        ...

    async def get_upload(self, upload_id: str) -> Upload | None: ...

    async def put_part(self, upload_id: str, part: Part) -> float:
        """Add or replace a part (the replaced blob is released); returns its
        last_modified as stored (see put_object). part.blob_id must be pending. Raises
        NoSuchUpload if the upload is gone."""
        ...

    async def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[Part]:
        """Parts with numbers > after, ascending."""
        ...

    async def complete_upload(
        self,
        upload_id: str,
        record: ObjectRecord,
        used: Sequence[Part],
        condition: Precondition | None = None,
        versioned: bool = False,
    ) -> float:
        """Atomically replace (bucket, key) with record, built from the parts ``used``
        (returns its last_modified as stored; ``versioned``: see put_object);
        drop the upload, release the parts not used and remember the upload as completed.
        NoSuchUpload if the upload is gone (completed or aborted), InvalidPart if a used
        part changed meanwhile, the condition's S3Error if the current object fails it."""
        ...

    async def get_completed_upload(self, upload_id: str) -> CompletedUpload | None:
        """A recently completed upload (pruned after some days), for a retried Complete."""
        ...

    async def abort_upload(self, upload_id: str) -> bool:
        """False if there is no such upload."""
        ...

    async def list_uploads(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage: ...

    # -- blob lifecycle -------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str) -> None: ...

    async def drop_pending_blob(self, blob_id: str) -> None:
        """The write failed: the pending mark becomes garbage."""
        ...

    async def take_garbage(
        self, limit: int = 1000, queued_before: float | None = None
    ) -> list[str]:
        """Claims up to ``limit`` garbage blob ids (sorted), only those queued at or before
        ``queued_before`` (epoch seconds; on PostgreSQL compared on the database clock)
        if given, and none under a live read lease; a write that failed is garbage from
        the start (no reader ever saw its blob). The rows are deleted in the claim, so
        collectors in every process split the work and a claimed id is no collector's
        but the caller's, who removes the bytes afterwards: a crash in between leaves an
        orphan for the orphan sweep, never a row naming missing bytes."""
        ...

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        """Which of these ids are referenced (by an object or a part), pending or queued."""
        ...

    def orphan_sweep(self) -> AbstractAsyncContextManager[bool]:
        """``async with meta.orphan_sweep() as mine:`` ``mine`` is True for one caller at
        a time among every process on this store (the orphan sweep has one runner);
        False: another sweeps now, skip it. (SQLite: always True, its one server holds
        the data directory's lock, and so does whoever sweeps it.)"""
        ...

    def bootstrap_lock(self) -> AbstractAsyncContextManager[None]:
        """``async with meta.bootstrap_lock():`` one holder at a time among every process
        on this store, the others wait: start-up's root key is made under it, so that
        gateways starting together on an empty database make one. (PostgreSQL: the
        migrations' advisory lock; SQLite: nothing to wait for, its one server holds the
        data directory's lock.)"""
        ...

    async def recover_pending(self) -> int:
        """Pending marks that belong to no registered session (an older version's, a
        session-less tool's, an ended session's) become garbage; returns how many. A
        registered session's marks are never touched."""
        ...

    # -- sessions -------------------------------------------------------------------
    async def open_session(self, host: str, pid: int) -> str:
        """Register a session for the calling worker process (16 hex digits); this
        store's ``add_pending_blob`` marks are recorded under it from now on."""
        ...

    async def heartbeat(self) -> bool:
        """Refresh this store's session; False if it has none or it was ended (declared
        dead by someone: its pending marks are garbage now, so it should open another)."""
        ...

    async def list_sessions(self) -> list[Session]: ...

    async def end_sessions(self, session_ids: Sequence[str]) -> int:
        """End dead sessions: their pending marks become garbage and their rows are
        deleted, in one transaction; returns how many marks that was."""
        ...

    # -- read leases ----------------------------------------------------------------
    async def lease_blobs(self, blob_ids: Sequence[str]) -> str | None:
        """A read lease on these blobs, held by this store's session: ``take_garbage``
        skips them until ``drop_lease`` (or until the session ends: a dead worker's
        leases go with it). A download that must end with the bytes it started with
        takes one before it opens its first blob, on stores where a delete takes the
        bytes of an open blob away (RADOS, NFS) and for blobs opened as the download
        reaches them (multipart). None (nothing leased): no session, or no blob.
        ValueError (nothing leased) if a collector claimed one of them already (neither
        counted nor queued: its bytes may be going), checked atomically with the lease,
        so a lease taken after the record was read never covers bytes already going."""
        ...

    async def drop_lease(self, lease_id: str) -> None: ...

    # -- console sign-outs ----------------------------------------------------------
    async def end_console_session(self, sid: str, expires: float) -> None:
        """A console session (its random id) was signed out: ``console_session_ended``
        answers True for it, in every process, until ``expires`` (epoch seconds, when its
        token would be refused anyway) at least. Rows past their time may be dropped."""
        ...

    async def console_session_ended(self, sid: str) -> bool: ...

    async def usage(self, garbage_due_before: float) -> StorageUsage:
        """Totals for monitoring (aggregate queries: not for the request path)."""
        ...

    async def counts(self, garbage_due_before: float) -> MetaCounts:
        """Every count of ``oortgate admin stats``, in one snapshot (see MetaCounts)."""
        ...

    async def ping(self) -> None:
        """A round trip to the store (a readiness check); raises if it does not answer."""
        ...

    async def close(self) -> None: ...
