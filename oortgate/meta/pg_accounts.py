"""Users, access keys and buckets on PostgreSQL (secrets sealed as on SQLite).

A server worker remembers ``get_credentials`` and ``get_bucket`` answers (see pg_lookups:
forgotten on the database's notices, re-read after 5 s); every other lookup is one
statement. This store's own writes of them forget at once (the notice follows).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar

from psycopg import errors

from oortgate.errors import S3Error
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import AccessKey, Bucket, BucketUsage, User
from oortgate.meta.pg_db import Conn, PgBase
from oortgate.meta.sqlite_db import lower_bound, nullable_dumps, nullable_loads, successor
from oortgate.secretbox import PREFIX, open_secret, seal_secret

T = TypeVar("T")
_USER_COLS = "id, name, canonical_id, created"
_KEY_COLS = "access_key, secret_key, user_id, enabled, created, rate_limit"
_BUCKET_COLS = (
    "id, name, owner_id, region, created, acl, cors, tier, ownership, public_access_block,"
    " policy, lifecycle, versioning, object_lock"
)
_CREDENTIALS_SQL = (
    "SELECT k.access_key, k.secret_key, k.user_id, k.enabled, k.created, k.rate_limit,"
    " u.id, u.name, u.canonical_id, u.created"
    " FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = %s"
)


def _user(row: tuple[Any, ...]) -> User:
    return User(int(row[0]), row[1], row[2], row[3])


def _bucket(row: tuple[Any, ...]) -> Bucket:
    return Bucket(int(row[0]), *row[1:])


class PgAccounts(PgBase):
    def _key(self, row: tuple[Any, ...]) -> AccessKey:
        secret = open_secret(self._box, row[1])
        return AccessKey(row[0], secret, int(row[2]), bool(row[3]), row[4], row[5])

    # -- users and keys -------------------------------------------------------------
    async def create_user(self, name: str) -> User:
        canonical_id = secrets.token_hex(32)
        try:
            row = await self._one(
                "INSERT INTO users (name, canonical_id, created) VALUES (%s, %s, og_now())"
                " RETURNING id, created",
                name,
                canonical_id,
            )
        except errors.UniqueViolation:
            raise ValueError(f"user name already taken: {name!r}") from None
        assert row is not None
        return User(int(row[0]), name, canonical_id, row[1])

    async def get_user(self, user_id: int) -> User | None:
        row = await self._one(f"SELECT {_USER_COLS} FROM users WHERE id = %s", user_id)
        return _user(row) if row else None

    async def get_user_by_name(self, name: str) -> User | None:
        row = await self._one(f"SELECT {_USER_COLS} FROM users WHERE name = %s", name)
        return _user(row) if row else None

    async def get_user_by_canonical_id(self, canonical_id: str) -> User | None:
        sql = f"SELECT {_USER_COLS} FROM users WHERE canonical_id = %s"
        row = await self._one(sql, canonical_id)
        return _user(row) if row else None

    async def list_users(self) -> list[User]:
        rows = await self._rows(f"SELECT {_USER_COLS} FROM users ORDER BY id")
        return [_user(row) for row in rows]

    async def delete_user(self, user_id: int) -> None:
        async def work(conn: Conn) -> None:
            async with conn.transaction():
                await conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
                for table in ("buckets", "objects", "uploads"):
                    cur = await conn.execute(
                        f"SELECT 1 FROM {table} WHERE owner_id = %s LIMIT 1".encode(), (user_id,)
                    )
                    if await cur.fetchone():
                        raise ValueError(f"user {user_id} still owns {table}")
                await conn.execute("DELETE FROM access_keys WHERE user_id = %s", (user_id,))
                await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))

        await self._changed(self._run(work))

    async def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        sealed = seal_secret(self._box, secret_key)

        async def work(conn: Conn) -> float:
            async with conn.transaction():
                # Guard: the user row (its key_count is raised only below the limit).
                cur = await conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user_id,))
                if await cur.fetchone() is None:
                    raise ValueError(f"no such user: {user_id}")
                cur = await conn.execute(
                    "SELECT 1 FROM access_keys WHERE access_key = %s", (access_key,)
                )
                if await cur.fetchone():
                    raise ValueError(f"access key already exists: {access_key}")
                cur = await conn.execute(
                    "UPDATE users SET key_count = key_count + 1 WHERE id = %s AND key_count < %s",
                    (user_id, MAX_KEYS_PER_USER),
                )
                if not cur.rowcount:
                    raise ValueError(f"user {user_id} already has {MAX_KEYS_PER_USER} access keys")
                cur = await conn.execute(
                    f"INSERT INTO access_keys ({_KEY_COLS}) VALUES (%s, %s, %s, true, og_now(),"
                    " NULL) RETURNING created",
                    (access_key, sealed, user_id),
                )
                row = await cur.fetchone()
                assert row is not None
                return float(row[0])

        try:
            created = await self._run(work)
        except errors.UniqueViolation:
            raise ValueError(f"access key already exists: {access_key}") from None
        return AccessKey(access_key, secret_key, user_id, True, created)

    async def reseal_keys(self) -> int:
        """One transaction; the rows are locked as read (a key created meanwhile is
        sealed already: only rows stored in the clear are rewritten)."""
        box = self._box
        if box is None:
            return 0

        async def work(conn: Conn) -> int:
            async with conn.transaction():
                cur = await conn.execute(
                    "SELECT access_key, secret_key FROM access_keys WHERE"
                    " NOT starts_with(secret_key, %s) ORDER BY access_key FOR UPDATE",
                    (PREFIX,),
                )
                plain = await cur.fetchall()
                for access_key, secret in plain:
                    await conn.execute(
                        "UPDATE access_keys SET secret_key = %s WHERE access_key = %s",
                        (seal_secret(box, secret), access_key),
                    )
                return len(plain)

        return await self._run(work)

    async def get_key(self, access_key: str) -> AccessKey | None:
        sql = f"SELECT {_KEY_COLS} FROM access_keys WHERE access_key = %s"
        row = await self._one(sql, access_key)
        return self._key(row) if row else None

    async def refresh(self) -> None:
        """Nothing to ask: the cache is kept current by notices as they arrive."""

    async def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        return await self._lookups.credentials(access_key, self._read_credentials)

    async def _read_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        row = await self._one(_CREDENTIALS_SQL, access_key)
        return (self._key(row[:6]), _user(row[6:])) if row else None

    async def list_keys(self, user_id: int | None = None) -> list[AccessKey]:
        where, args = ("", ()) if user_id is None else (" WHERE user_id = %s", (user_id,))
        rows = await self._rows(
            f"SELECT {_KEY_COLS} FROM access_keys{where} ORDER BY user_id, created, access_key",
            *args,
        )
        return [self._key(row) for row in rows]

    async def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        sql = "UPDATE access_keys SET enabled = %s WHERE access_key = %s"
        return await self._changed(self._count(sql, enabled, access_key)) > 0

    async def set_key_rate_limit(self, access_key: str, rate: float | None) -> bool:
        sql = "UPDATE access_keys SET rate_limit = %s WHERE access_key = %s"
        return await self._changed(self._count(sql, rate, access_key)) > 0

    async def _changed(self, write: Awaitable[T]) -> T:
        """A write of a key, a user or a bucket: this worker forgets what it remembers
        as soon as it is done (the database's notice arrives a moment later)."""
        try:
            return await write
        finally:
            self._lookups.flush()

    async def delete_key(self, access_key: str) -> bool:
        row = await self._changed(
            self._one(
                "WITH d AS (DELETE FROM access_keys WHERE access_key = %s RETURNING user_id),"
                " u AS (UPDATE users SET key_count = key_count - 1 FROM d"
                " WHERE users.id = d.user_id AND key_count > 0) SELECT count(*) FROM d",
                access_key,
            )
        )
        return row is not None and row[0] > 0

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
        row = await self._one(
            "SELECT * FROM og_create_bucket(%s, %s, %s, %s, %s, %s, %s, %s)",
            name, owner_id, region, max_buckets, acl, tier, ownership, object_lock,
        )  # fmt: skip
        assert row is not None
        versioning = None if object_lock is None else "Enabled"
        return Bucket(int(row[0]), name, owner_id, region, row[1], acl, None, tier, ownership,
                      versioning=versioning, object_lock=object_lock)  # fmt: skip

    async def get_bucket(self, name: str) -> Bucket | None:
        return await self._lookups.bucket(name, self._read_bucket)

    async def _read_bucket(self, name: str) -> Bucket | None:
        row = await self._one(f"SELECT {_BUCKET_COLS} FROM buckets WHERE name = %s", name)
        return _bucket(row) if row else None

    async def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        bound, inclusive = lower_bound(prefix, start_after)
        upper = successor(prefix)
        sql = (
            f"SELECT {_BUCKET_COLS} FROM buckets WHERE owner_id = %s"
            f" AND name {'>=' if inclusive else '>'} %s"
            " AND (%s::og_name IS NULL OR name < %s::og_name) ORDER BY name LIMIT %s"
        )
        rows = await self._rows(sql, owner_id, bound, upper, upper, max(limit, 0))
        return [_bucket(row) for row in rows]

    async def bucket_usage(self, owner_id: int) -> list[BucketUsage]:
        rows = await self._rows(
            "SELECT b.name, b.tier, b.created, COUNT(o.key), COALESCE(SUM(o.size), 0)"
            " FROM buckets b LEFT JOIN objects o ON o.bucket_id = b.id WHERE b.owner_id = %s"
            " GROUP BY b.id ORDER BY b.name",
            owner_id,
        )
        return [BucketUsage(n, t, c, int(count), int(size)) for n, t, c, count, size in rows]

    async def delete_bucket(self, bucket_id: int) -> None:
        """og_delete_bucket, refused as well while versions remain (checked under the
        bucket row's lock, which every versioned write takes shared first)."""

        async def work(conn: Conn) -> None:
            async with conn.transaction():
                cur = await conn.execute(
                    b"SELECT name FROM buckets WHERE id = %s FOR UPDATE", (bucket_id,)
                )
                row = await cur.fetchone()
                cur = await conn.execute(
                    b"SELECT 1 FROM object_versions WHERE bucket_id = %s LIMIT 1", (bucket_id,)
                )
                if row is not None and await cur.fetchone() is not None:
                    raise S3Error("BucketNotEmpty", BucketName=row[0])
                await conn.execute(b"SELECT og_delete_bucket(%s)", (bucket_id,))

        await self._changed(self._run(work))

    async def _set_bucket(self, column: str, bucket_id: int, value: str | None) -> None:
        sql = f"UPDATE buckets SET {column} = %s WHERE id = %s"
        await self._changed(self._count(sql, value, bucket_id))

    async def set_bucket_acl(self, bucket_id: int, acl: str) -> None:
        await self._set_bucket("acl", bucket_id, acl)

    async def set_bucket_cors(self, bucket_id: int, cors: str | None) -> None:
        await self._set_bucket("cors", bucket_id, cors)

    async def set_bucket_ownership(self, bucket_id: int, ownership: str | None) -> None:
        await self._set_bucket("ownership", bucket_id, ownership)

    async def set_bucket_public_access_block(self, bucket_id: int, config: str | None) -> None:
        await self._set_bucket("public_access_block", bucket_id, config)

    async def set_bucket_policy(self, bucket_id: int, policy: str | None) -> None:
        await self._set_bucket("policy", bucket_id, policy)

    async def set_bucket_lifecycle(self, bucket_id: int, lifecycle: str | None) -> None:
        await self._set_bucket("lifecycle", bucket_id, lifecycle)

    async def lifecycle_buckets(self) -> list[Bucket]:
        rows = await self._rows(
            f"SELECT {_BUCKET_COLS} FROM buckets WHERE lifecycle IS NOT NULL ORDER BY name"
        )
        return [_bucket(row) for row in rows]

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        # The database's clock: every gateway's lease is measured on the same one.
        return (
            await self._count(
                "INSERT INTO leases (name, holder, expires)"
                " VALUES (%s, %s, extract(epoch FROM clock_timestamp()) + %s)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires = excluded.expires WHERE leases.holder = excluded.holder"
                " OR leases.expires < extract(epoch FROM clock_timestamp())",
                name,
                holder,
                seconds,
            )
            == 1
        )

    async def get_bucket_tags(self, bucket_id: int) -> dict[str, str] | None:
        row = await self._one("SELECT tags FROM buckets WHERE id = %s", bucket_id)
        return nullable_loads(row[0]) if row and row[0] else None

    async def set_bucket_tags(self, bucket_id: int, tags: dict[str, str]) -> None:
        await self._set_bucket("tags", bucket_id, nullable_dumps(tags))
