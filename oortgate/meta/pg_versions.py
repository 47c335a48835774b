"""Versions, delete markers, object lock and a version's restore or transition on
PostgreSQL: each operation one transaction driving its steps (see oortgate.meta.versions)."""

from __future__ import annotations

import time

from oortgate.meta import object_lock, version_lifecycle, version_listing, version_restore, versions
from oortgate.meta.models import ObjectLock, ObjectRecord, VersionPage
from oortgate.meta.pg_db import Conn
from oortgate.meta.pg_objects import PgObjects
from oortgate.meta.pg_writes import CLOCK, drive, lock_key
from oortgate.meta.preconditions import Current, Precondition, check


class PgVersions(PgObjects):
    async def set_bucket_versioning(self, bucket_id: int, status: str) -> None:
        await self._set_bucket("versioning", bucket_id, status)

    async def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        async def work(conn: Conn) -> float:
            async with conn.transaction():
                await lock_key(conn, bucket_id, key)
                cur = await conn.execute(
                    b"SELECT etag, size, last_modified FROM objects"
                    b" WHERE bucket_id = %s AND key = %s FOR UPDATE",
                    (bucket_id, key),
                )
                found = await cur.fetchone()
                check(condition, None if found is None else Current(found[0], int(found[1]),
                                                                     found[2]), key)  # fmt: skip
                cur = await conn.execute(b"SELECT og_now()")
                now = await cur.fetchone()
                assert now is not None
                clock = repr(float(now[0]))
                await drive(conn, versions.add_delete_marker(bucket_id, key, version_id,
                                                             owner_id, clock))  # fmt: skip
                return float(now[0])

        return await self._run(work)

    async def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        return await self._versioned(
            lambda: object_lock.guarded_delete(bucket_id, key, version_id, bypass_governance,
                                               CLOCK), (bucket_id, key)
        )  # fmt: skip

    # -- object lock (oortgate.meta.object_lock; retention compared on the database clock)
    async def set_bucket_object_lock(self, bucket_id: int, config: str) -> None:
        sql = "UPDATE buckets SET object_lock = %s, versioning = 'Enabled' WHERE id = %s"
        await self._changed(self._count(sql, config, bucket_id))

    async def get_object_lock(self, bucket_id: int, key: str, version_id: str) -> ObjectLock | None:
        return await self._snapshot(lambda: object_lock.read(bucket_id, key, version_id))

    async def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        return await self._versioned(
            lambda: object_lock.set_retention(bucket_id, key, version_id, mode, until,
                                              bypass_governance, CLOCK), (bucket_id, key)
        )  # fmt: skip

    async def set_object_legal_hold(
        self, bucket_id: int, key: str, version_id: str, on: bool
    ) -> bool:
        return await self._versioned(
            lambda: object_lock.set_legal_hold(bucket_id, key, version_id, on), (bucket_id, key)
        )

    async def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        now = time.time()  # the moments are kept as distances from now, on the db clock
        return await self._versioned(
            lambda: version_restore.set_restore(bucket_id, key, version_id, ready - now,
                                                expiry - now, CLOCK), (bucket_id, key)
        )  # fmt: skip

    async def transition_version(self, record: ObjectRecord) -> bool:
        return await self._versioned(lambda: version_lifecycle.transition_version(record),
                                     (record.bucket_id, record.key))  # fmt: skip

    async def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        return await self._versioned(
            lambda: version_lifecycle.expire_lone_marker(bucket_id, key, version_id),
            (bucket_id, key),
        )

    async def get_object_version(
        self, bucket_id: int, key: str, version_id: str
    ) -> ObjectRecord | None:
        return await self._snapshot(lambda: versions.get_version(bucket_id, key, version_id))

    async def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        return await self._snapshot(lambda: versions.current_delete_marker(bucket_id, key))

    async def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        return await self._snapshot(
            lambda: version_listing.list_versions(bucket_id, prefix, delimiter, key_marker,
                                           version_id_marker, max_keys)
        )  # fmt: skip
