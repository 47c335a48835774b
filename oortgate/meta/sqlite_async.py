"""The async ``MetaStore`` a server worker runs on, over two SQLite connections.

Writes (and the scans and lists) go to the writer connection on its own thread, where
concurrent ones share one commit (``MetaWorker``). Point lookups (a key, a user, a bucket,
an object) run on the event loop itself, on a second connection: they take microseconds,
never wait for writers (WAL), and a thread hop would cost more than the query. Keys and
buckets, asked for by every request, are remembered until any connection commits
(``LookupCache``: ``refresh``, once per request, asks SQLite's ``data_version``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

from oortgate.errors import S3Error
from oortgate.meta.lookup_cache import LookupCache
from oortgate.meta.models import (
    AccessKey,
    Bucket,
    BucketUsage,
    CompletedUpload,
    MetaCounts,
    ObjectLock,
    ObjectPage,
    ObjectRecord,
    Part,
    Session,
    StorageUsage,
    Upload,
    UploadPage,
    User,
    VersionPage,
)
from oortgate.meta.preconditions import Precondition
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.worker import MetaWorker


class AsyncSqliteMeta:
    def __init__(self, writer: SqliteMetaStore, reader: SqliteMetaStore) -> None:
        self._writer = writer
        self._reader = reader
        self._lookups = LookupCache(reader)
        self._worker = MetaWorker(writer)
        self._call = self._worker.call

    # -- users and keys -------------------------------------------------------------
    async def create_user(self, name: str) -> User:
        return await self._call(self._writer.create_user, name)

    async def get_user(self, user_id: int) -> User | None:
        return self._reader.get_user(user_id)

    async def get_user_by_name(self, name: str) -> User | None:
        return self._reader.get_user_by_name(name)

    async def get_user_by_canonical_id(self, canonical_id: str) -> User | None:
        return self._reader.get_user_by_canonical_id(canonical_id)

    async def list_users(self) -> list[User]:
        return await self._call(self._writer.list_users)

    async def delete_user(self, user_id: int) -> None:
        await self._call(self._writer.delete_user, user_id)

    async def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        return await self._call(self._writer.create_key, user_id, access_key, secret_key)

    async def get_key(self, access_key: str) -> AccessKey | None:
        return self._reader.get_key(access_key)

    async def refresh(self) -> None:
        self._lookups.refresh()

    async def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        return self._lookups.get_credentials(access_key)

    async def list_keys(self, user_id: int | None = None) -> list[AccessKey]:
        return await self._call(self._writer.list_keys, user_id)

    async def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        return await self._call(self._writer.set_key_enabled, access_key, enabled)

    async def set_key_rate_limit(self, access_key: str, rate: float | None) -> bool:
        return await self._call(self._writer.set_key_rate_limit, access_key, rate)

    async def reseal_keys(self) -> int:
        return await self._call(self._writer.reseal_keys)

    async def delete_key(self, access_key: str) -> bool:
        return await self._call(self._writer.delete_key, access_key)

    # -- buckets --------------------------------------------------------------------
    async def create_bucket(
        self,
        name: str,
        owner_id: int,
        region: str,
        max_buckets: int,
        acl: str = "private",
        tier: str = "standard",
        ownership: str | None = None,
        object_lock: str | None = None,
    ) -> Bucket:
        return await self._call(self._writer.create_bucket, name, owner_id, region,
                                max_buckets, acl, tier, ownership, object_lock)  # fmt: skip

    async def set_bucket_acl(self, bucket_id: int, acl: str) -> None:
        await self._call(self._writer.set_bucket_acl, bucket_id, acl)

    async def set_bucket_cors(self, bucket_id: int, cors: str | None) -> None:
        await self._call(self._writer.set_bucket_cors, bucket_id, cors)

    async def set_bucket_ownership(self, bucket_id: int, ownership: str | None) -> None:
        await self._call(self._writer.set_bucket_ownership, bucket_id, ownership)

    async def set_bucket_public_access_block(self, bucket_id: int, config: str | None) -> None:
        await self._call(self._writer.set_bucket_public_access_block, bucket_id, config)

    async def set_bucket_policy(self, bucket_id: int, policy: str | None) -> None:
        await self._call(self._writer.set_bucket_policy, bucket_id, policy)

    async def set_bucket_lifecycle(self, bucket_id: int, lifecycle: str | None) -> None:
        await self._call(self._writer.set_bucket_lifecycle, bucket_id, lifecycle)

    async def lifecycle_buckets(self) -> list[Bucket]:
        return self._reader.lifecycle_buckets()

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        return await self._call(self._writer.take_lease, name, holder, seconds)

    async def get_bucket(self, name: str) -> Bucket | None:
        return self._lookups.get_bucket(name)

    async def get_bucket_tags(self, bucket_id: int) -> dict[str, str] | None:
        return self._reader.get_bucket_tags(bucket_id)

    async def set_bucket_tags(self, bucket_id: int, tags: dict[str, str]) -> None:
        await self._call(self._writer.set_bucket_tags, bucket_id, tags)

    async def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        return await self._call(self._writer.list_buckets, owner_id, prefix, start_after, limit)

    async def bucket_usage(self, owner_id: int) -> list[BucketUsage]:
        return await self._call(self._writer.bucket_usage, owner_id)

    async def delete_bucket(self, bucket_id: int) -> None:
        await self._call(self._writer.delete_bucket, bucket_id)

    # -- objects --------------------------------------------------------------------
    async def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None:
        return self._reader.get_object(bucket_id, key)

    async def put_object(
        self, record: ObjectRecord, condition: Precondition | None = None, versioned: bool = False
    ) -> float:
        await self._call(self._writer.put_object, record, condition, versioned)
        return record.last_modified  # (stored as given)

    async def transition_object(self, record: ObjectRecord, condition: Precondition) -> None:
        await self.put_object(record, condition)  # SQLite keeps the record's own date

    async def delete_object(
        self, bucket_id: int, key: str, condition: Precondition | None = None
    ) -> bool:
        return await self._call(self._writer.delete_object, bucket_id, key, condition)

    async def delete_objects(
        self,
        bucket_id: int,
        keys: Sequence[str],
        conditions: Sequence[Precondition | None] = (),
    ) -> list[S3Error | None]:
        return await self._call(self._writer.delete_objects, bucket_id, keys, conditions)

    async def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        return await self._call(
            self._writer.list_objects, bucket_id, prefix, delimiter, start_after, max_keys
        )

    async def set_object_acl(
        self, bucket_id: int, key: str, acl: str, version_id: str | None = None
    ) -> bool:
        return await self._call(self._writer.set_object_acl, bucket_id, key, acl, version_id)

    async def set_object_tags(
        self, bucket_id: int, key: str, tags: dict[str, str], version_id: str | None = None
    ) -> bool:
        return await self._call(self._writer.set_object_tags, bucket_id, key, tags, version_id)

    # -- versions -------------------------------------------------------------------
    async def set_bucket_versioning(self, bucket_id: int, status: str) -> None:
        await self._call(self._writer.set_bucket_versioning, bucket_id, status)

    async def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        return await self._call(self._writer.add_delete_marker, bucket_id, key, version_id,
                                owner_id, condition)  # fmt: skip

    async def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        return await self._call(self._writer.delete_version, bucket_id, key, version_id,
                                bypass_governance)  # fmt: skip

    async def set_bucket_object_lock(self, bucket_id: int, config: str) -> None:
        await self._call(self._writer.set_bucket_object_lock, bucket_id, config)

    async def get_object_lock(self, bucket_id: int, key: str, version_id: str) -> ObjectLock | None:
        return self._reader.get_object_lock(bucket_id, key, version_id)

    async def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        return await self._call(self._writer.set_object_retention, bucket_id, key, version_id,
                                mode, until, bypass_governance)  # fmt: skip

    async def set_object_legal_hold(
        self, bucket_id: int, key: str, version_id: str, on: bool
    ) -> bool:
        return await self._call(self._writer.set_object_legal_hold, bucket_id, key, version_id, on)

    async def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        return await self._call(self._writer.set_version_restore, bucket_id, key, version_id,
                                ready, expiry)  # fmt: skip

    async def transition_version(self, record: ObjectRecord) -> bool:
        return await self._call(self._writer.transition_version, record)

    async def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        return await self._call(self._writer.expire_delete_marker, bucket_id, key, version_id)

    async def get_object_version(
        self, bucket_id: int, key: str, version_id: str
    ) -> ObjectRecord | None:
        return self._reader.get_object_version(bucket_id, key, version_id)

    async def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        return self._reader.current_delete_marker(bucket_id, key)

    async def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        return await self._call(self._writer.list_object_versions, bucket_id, prefix,
                                delimiter, key_marker, version_id_marker, max_keys)  # fmt: skip

    async def has_objects(self, bucket_id: int) -> bool:
        return self._reader.has_objects(bucket_id)

    # -- multipart uploads ----------------------------------------------------------
    async def create_upload(self, upload: Upload) -> float:
        return await self._call(self._writer.create_upload, upload)

    async def get_upload(self, upload_id: str) -> Upload | None:
        return await self._call(self._writer.get_upload, upload_id)

    async def put_part(self, upload_id: str, part: Part) -> float:
        await self._call(self._writer.put_part, upload_id, part)
        return part.last_modified

    async def list_parts(self, upload_id: str, after: int = 0, limit: int = 10000) -> list[Part]:
        return await self._call(self._writer.list_parts, upload_id, after, limit)

    async def complete_upload(
        self,
        upload_id: str,
        record: ObjectRecord,
        used: Sequence[Part],
        condition: Precondition | None = None,
        versioned: bool = False,
    ) -> float:
        await self._call(self._writer.complete_upload, upload_id, record, used, condition,
                         versioned)  # fmt: skip
        return record.last_modified

    async def get_completed_upload(self, upload_id: str) -> CompletedUpload | None:
        return self._reader.get_completed_upload(upload_id)

    async def abort_upload(self, upload_id: str) -> bool:
        return await self._call(self._writer.abort_upload, upload_id)

    async def list_uploads(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        key_marker: str = "",
        upload_id_marker: str = "",
        max_uploads: int = 1000,
    ) -> UploadPage:
        return await self._call(
            self._writer.list_uploads,
            bucket_id,
            prefix,
            delimiter,
            key_marker,
            upload_id_marker,
            max_uploads,
        )

    # -- blob lifecycle -------------------------------------------------------------
    async def add_pending_blob(self, blob_id: str) -> None:
        await self._call(self._writer.add_pending_blob, blob_id)

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self._call(self._writer.drop_pending_blob, blob_id)

    async def take_garbage(
        self, limit: int = 1000, queued_before: float | None = None
    ) -> list[str]:
        return await self._call(self._writer.take_garbage, limit, queued_before)

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        return await self._call(self._writer.known_blobs, blob_ids)

    async def recover_pending(self) -> int:
        return await self._call(self._writer.recover_pending)

    @contextlib.asynccontextmanager
    async def bootstrap_lock(self) -> AsyncIterator[None]:
        # Nothing to wait for: the one server of a data directory holds its lock.
        yield

    @contextlib.asynccontextmanager
    async def orphan_sweep(self) -> AsyncIterator[bool]:
        # One runner already: the sweep runs only under the data directory's lock.
        yield True

    # -- sessions (on the writer: its pending marks are recorded under its session) --
    async def open_session(self, host: str, pid: int) -> str:
        return await self._call(self._writer.open_session, host, pid)

    async def heartbeat(self) -> bool:
        return await self._call(self._writer.heartbeat)

    async def list_sessions(self) -> list[Session]:
        return await self._call(self._writer.list_sessions)

    async def end_sessions(self, session_ids: Sequence[str]) -> int:
        return await self._call(self._writer.end_sessions, session_ids)

    async def lease_blobs(self, blob_ids: Sequence[str]) -> str | None:
        return await self._call(self._writer.lease_blobs, blob_ids)

    async def drop_lease(self, lease_id: str) -> None:
        await self._call(self._writer.drop_lease, lease_id)

    # -- console sign-outs (the check: a point lookup, inline) ------------------------
    async def end_console_session(self, sid: str, expires: float) -> None:
        await self._call(self._writer.end_console_session, sid, expires)

    async def console_session_ended(self, sid: str) -> bool:
        return self._reader.console_session_ended(sid)

    async def usage(self, garbage_due_before: float) -> StorageUsage:
        return await self._call(self._writer.usage, garbage_due_before)

    async def counts(self, garbage_due_before: float) -> MetaCounts:
        return await self._call(self._writer.counts, garbage_due_before)

    async def ping(self) -> None:
        # Through the writer's thread: a wedged worker makes the server not ready.
        await self._call(self._writer.get_bucket, "-")

    async def close(self) -> None:
        self._worker.close()
        self._writer.close()
        self._reader.close()
