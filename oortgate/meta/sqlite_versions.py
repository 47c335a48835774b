"""Versions, delete markers, object lock and a version's restore or transition on
SQLite: each operation drives its steps (see oortgate.meta.versions) in one transaction."""

from __future__ import annotations

import sqlite3
import time

from oortgate.errors import S3Error
from oortgate.meta import object_lock, version_lifecycle, version_listing, version_restore, versions
from oortgate.meta.models import ObjectLock, ObjectRecord, VersionPage
from oortgate.meta.preconditions import Precondition, check
from oortgate.meta.sqlite_objects import ObjectsStore


class VersionsStore(ObjectsStore):
    # -- versions and delete markers --------------------------------------------------
    def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        now = time.time()
        try:
            with self._write():
                check(condition, self._current(bucket_id, key), key)
                self._drive(versions.add_delete_marker(bucket_id, key, version_id, owner_id,
                                                       repr(now)))  # fmt: skip
        except sqlite3.IntegrityError:
            raise S3Error("NoSuchBucket") from None
        return now

    def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        now = repr(time.time())
        with self._write():
            return self._drive(object_lock.guarded_delete(bucket_id, key, version_id,
                                                          bypass_governance, now))  # fmt: skip

    # -- object lock (oortgate.meta.object_lock) -------------------------------------
    def get_object_lock(self, bucket_id: int, key: str, version_id: str) -> ObjectLock | None:
        with self._snapshot():
            return self._drive(object_lock.read(bucket_id, key, version_id))

    def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        now = repr(time.time())
        with self._write():
            return self._drive(object_lock.set_retention(bucket_id, key, version_id, mode, until,
                                                         bypass_governance, now))  # fmt: skip

    def set_object_legal_hold(self, bucket_id: int, key: str, version_id: str, on: bool) -> bool:
        with self._write():
            return self._drive(object_lock.set_legal_hold(bucket_id, key, version_id, on))

    def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        now = time.time()
        with self._write():
            return self._drive(version_restore.set_restore(bucket_id, key, version_id,
                                                           ready - now, expiry - now,
                                                           repr(now)))  # fmt: skip

    def transition_version(self, record: ObjectRecord) -> bool:
        with self._write():
            return self._drive(version_lifecycle.transition_version(record))

    def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        with self._write():
            return self._drive(version_lifecycle.expire_lone_marker(bucket_id, key, version_id))

    def get_object_version(self, bucket_id: int, key: str, version_id: str) -> ObjectRecord | None:
        with self._snapshot():
            return self._drive(versions.get_version(bucket_id, key, version_id))

    def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        with self._snapshot():
            return self._drive(versions.current_delete_marker(bucket_id, key))

    def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        steps = version_listing.list_versions(bucket_id, prefix, delimiter, key_marker,
                                       version_id_marker, max_keys)  # fmt: skip
        with self._snapshot():
            return self._drive(steps)
