"""The metadata store interface. Handlers use only this; SQL lives in implementations.

Every method is synchronous and atomic (one transaction); the server runs them off the
event loop. A write returns only once it is durable.

Blob lifecycle (how a crash never loses or leaks a blob, with any number of writers):
0. every writing worker process registers a session (``open_session``) and heartbeats;
1. ``add_pending_blob(id)`` before a blob file is written (the mark names the session);
2. ``put_object(record)`` commits the object, clears the pending mark and counts the
   reference on the blob's row in one transaction (or ``drop_pending_blob(id)`` when
   the upload failed); a copy counts one more reference, guarded: a blob whose count
   reached 0 cannot be referenced again;
3. a row that stops referencing a blob (overwrite, delete) takes one from its count in
   the same transaction; at 0 the blob is queued as garbage; the caller deletes the file
   and then calls ``forget_garbage``;
4. only dead sessions' leftovers are reaped (``end_sessions``: their pending marks become
   garbage; ``recover_pending``: marks of no session), by whoever sweeps: a live session's
   pending blobs and temp files are never touched. Files no record knows of are swept
   at start-up (see ``oortgate.gc``).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from oortgate.errors import S3Error
from oortgate.meta.models import (
    AccessKey,
    Bucket,
    CompletedUpload,
    ObjectPage,
    ObjectRecord,
    Part,
    Session,
    StorageUsage,
    Upload,
    UploadPage,
    User,
)
from oortgate.meta.preconditions import Precondition

MAX_KEYS_PER_USER = 10


class MetaStore(Protocol):
    # -- users and keys -------------------------------------------------------------
    def create_user(self, name: str) -> User:
        """Raises ValueError if the name is taken."""
        ...

    def get_user(self, user_id: int) -> User | None: ...

    def get_user_by_name(self, name: str) -> User | None: ...

    def get_user_by_canonical_id(self, canonical_id: str) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        """Raises ValueError for a duplicate access key, an unknown user, or a user who
        already has MAX_KEYS_PER_USER keys."""
        ...

    def get_key(self, access_key: str) -> AccessKey | None: ...

    def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        """The key and its user together (what every signed request looks up)."""
        ...

    def list_keys(self, user_id: int | None = None) -> list[AccessKey]: ...

    def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        """False if there is no such key."""
        ...

    def set_key_rate_limit(self, access_key: str, rate: float | None) -> bool:
        """Requests per second for this key (None: the server default); False if no key."""
        ...

    def delete_key(self, access_key: str) -> bool:
        """False if there is no such key."""
        ...

    # -- buckets --------------------------------------------------------------------
    def create_bucket(
        self,
        name: str,
        owner_id: int,
        region: str,
        max_buckets: int,
        acl: str = "private",
        tier: str = "standard",
        ownership: str | None = None,
    ) -> Bucket:
        """Raises S3Error BucketAlreadyExists (another owner has it),
        BucketAlreadyOwnedByYou (the caller has it) or TooManyBuckets."""
        ...

    def set_bucket_acl(self, bucket_id: int, acl: str) -> None: ...

    def set_bucket_cors(self, bucket_id: int, cors: str | None) -> None: ...

    def set_bucket_ownership(self, bucket_id: int, ownership: str | None) -> None:
        """Its ObjectOwnership setting (None: no OwnershipControls)."""
        ...

    def set_bucket_public_access_block(self, bucket_id: int, config: str | None) -> None:
        """Its PublicAccessBlock configuration as JSON (None: none)."""
        ...

    def get_bucket(self, name: str) -> Bucket | None: ...

    def get_bucket_tags(self, bucket_id: int) -> dict[str, str] | None:
        """The bucket's tag set; None if it has none."""
        ...

    def set_bucket_tags(self, bucket_id: int, tags: dict[str, str]) -> None:
        """Replace the bucket's tag set (empty: remove it)."""
        ...

    def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        """The owner's buckets in name order, names > start_after starting with prefix."""
        ...

    def delete_bucket(self, bucket_id: int) -> None:
        """Raises S3Error BucketNotEmpty when objects remain; open uploads are aborted
        with the bucket."""
        ...

    # -- objects --------------------------------------------------------------------
    def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None: ...

    def put_object(self, record: ObjectRecord, condition: Precondition | None = None) -> None:
        """Create or replace (bucket_id, key). Each of record.blob_ids must be pending (a
        new upload: the mark is cleared) or already referenced (a copy); else raises
        S3Error NoSuchKey (the copy source vanished). An inline record (``inline`` set)
        stores its bytes in the same transaction instead. A replaced blob left without
        references is queued as garbage (an inline one is dropped at once). With a
        condition, the current object is checked in the same transaction (see
        preconditions.check): if it fails, its S3Error is raised and nothing changes."""
        ...

    def delete_object(
        self, bucket_id: int, key: str, condition: Precondition | None = None
    ) -> bool:
        """True if the key existed. Its blob, if now unreferenced, is queued as garbage.
        A failed condition raises its S3Error (checked in the same transaction)."""
        ...

    def delete_objects(
        self,
        bucket_id: int,
        keys: Sequence[str],
        conditions: Sequence[Precondition | None] = (),
    ) -> list[S3Error | None]:
        """``delete_object`` for each key, in one transaction (DeleteObjects: up to 1,000
        keys for one commit, not one each); conditions[i], if any, guards keys[i]. Returns
        per key None (deleted, or absent) or the error of its failed condition."""
        ...

    def list_objects(
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
        what a listing shows: key, size, etag, last_modified, checksums, storage_class,
        parts_count and owner_id (blob_id empty, no headers or metadata)."""
        ...

    def set_object_restore(self, bucket_id: int, key: str, ready: float, expiry: float) -> bool:
        """Record a restore (readable from ready until expiry); False if no such object."""
        ...

    def set_object_acl(self, bucket_id: int, key: str, acl: str) -> bool:
        """False if there is no such object."""
        ...

    def set_object_tags(self, bucket_id: int, key: str, tags: dict[str, str]) -> bool:
        """Replace the object's tag set (empty: remove it); False if no such object."""
        ...

    def has_objects(self, bucket_id: int) -> bool: ...

    # -- multipart uploads ----------------------------------------------------------
    def create_upload(self, upload: Upload) -> None: ...

    def get_upload(self, upload_id: str) -> Upload | None: ...

    def put_part(self, upload_id: str, part: Part) -> None:
        """Add or replace a part (the replaced blob is released). part.blob_id must be
        pending. Raises NoSuchUpload if the upload is gone."""
        ...

    def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[Part]:
        """Parts with numbers > after, ascending."""
        ...

    def complete_upload(
        self,
        upload_id: str,
        record: ObjectRecord,
        used: Sequence[Part],
        condition: Precondition | None = None,
    ) -> None:
        """Atomically replace (bucket, key) with record, built from the parts ``used``;
        drop the upload, release the parts not used and remember the upload as completed.
        NoSuchUpload if the upload is gone (completed or aborted), InvalidPart if a used
        part changed meanwhile, the condition's S3Error if the current object fails it."""
        ...

    def get_completed_upload(self, upload_id: str) -> CompletedUpload | None:
        """A recently completed upload (pruned after some days), for a retried Complete."""
        ...

    def abort_upload(self, upload_id: str) -> bool:
        """False if there is no such upload."""
        ...

    def list_uploads(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage: ...

    # -- blob lifecycle -------------------------------------------------------------
    def add_pending_blob(self, blob_id: str) -> None: ...

    def drop_pending_blob(self, blob_id: str) -> None:
        """The write failed: the pending mark becomes garbage."""
        ...

    def take_garbage(self, limit: int = 1000, queued_before: float | None = None) -> list[str]:
        """Up to ``limit`` garbage blob ids, only those queued at or before
        ``queued_before`` (epoch seconds) if given; a write that failed is garbage from the
        start (no reader ever saw its blob)."""
        ...

    def forget_garbage(self, blob_ids: Sequence[str]) -> None: ...

    def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        """Which of these ids are referenced (by an object or a part), pending or queued."""
        ...

    def recover_pending(self) -> int:
        """Pending marks that belong to no registered session (an older version's, a
        session-less tool's, an ended session's) become garbage; returns how many. A
        registered session's marks are never touched."""
        ...

    # -- sessions -------------------------------------------------------------------
    def open_session(self, host: str, pid: int) -> str:
        """Register a session for the calling worker process (16 hex digits); this
        store's ``add_pending_blob`` marks are recorded under it from now on."""
        ...

    def heartbeat(self) -> bool:
        """Refresh this store's session; False if it has none or it was ended (declared
        dead by someone: its pending marks are garbage now, so it should open another)."""
        ...

    def list_sessions(self) -> list[Session]: ...

    def end_sessions(self, session_ids: Sequence[str]) -> int:
        """End dead sessions: their pending marks become garbage and their rows are
        deleted, in one transaction; returns how many marks that was."""
        ...

    def group(self) -> AbstractContextManager[None]:
        """Run several operations under one commit (group commit); each keeps its own
        all-or-nothing effect, and none is durable before the block ends."""
        ...

    def usage(self, garbage_due_before: float) -> StorageUsage:
        """Totals for monitoring (aggregate queries: not for the request path)."""
        ...

    def data_version(self) -> int:
        """A number that changes whenever another connection has committed a change."""
        ...

    def close(self) -> None: ...
