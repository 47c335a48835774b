"""Users, access keys and buckets on SQLite."""

from __future__ import annotations

import secrets
import sqlite3
import time

from oortgate.errors import S3Error
from oortgate.meta.base_accounts import MAX_KEYS_PER_USER
from oortgate.meta.models import AccessKey, Bucket, User
from oortgate.meta.sqlite_db import (
    Database,
    key_range,
    lower_bound,
    nullable_dumps,
    nullable_loads,
    qualified,
    successor,
)
from oortgate.secretbox import PREFIX, open_secret, seal_secret

_USER_COLS = "id, name, canonical_id, created"
_KEY_COLS = "access_key, secret_key, user_id, enabled, created, rate_limit"
_BUCKET_COLS = (
    "id, name, owner_id, region, created, acl, cors, tier, ownership, public_access_block,"
    " policy, lifecycle, versioning, object_lock"
)


_CREDENTIALS_SQL = (
    f"SELECT {qualified('k', _KEY_COLS)}, {qualified('u', _USER_COLS)}"
    " FROM access_keys k JOIN users u ON u.id = k.user_id WHERE k.access_key = ?"
)


class AccountsStore(Database):
    def _key(self, row: tuple[str, str, int, int, float, float | None]) -> AccessKey:
        secret = open_secret(self._box, row[1])
        return AccessKey(row[0], secret, row[2], bool(row[3]), row[4], row[5])

    def set_key_rate_limit(self, access_key: str, rate: float | None) -> bool:
        sql = "UPDATE access_keys SET rate_limit = ? WHERE access_key = ?"
        with self._write() as db:
            return db.execute(sql, (rate, access_key)).rowcount > 0

    def reseal_keys(self) -> int:
        """Store every secret sealed with the current box (after OORTGATE_SECRETS_KEY
        was set for the first time); returns how many were rewritten."""
        with self._write() as db:
            rows = db.execute("SELECT access_key, secret_key FROM access_keys").fetchall()
            plain = [(ak, s) for ak, s in rows if not s.startswith(PREFIX)]
            changed = [(seal_secret(self._box, s), ak) for ak, s in plain] if self._box else []
            db.executemany("UPDATE access_keys SET secret_key = ? WHERE access_key = ?", changed)
        return len(changed)

    # -- users and keys -------------------------------------------------------------
    def create_user(self, name: str) -> User:
        created, canonical_id = time.time(), secrets.token_hex(32)
        try:
            with self._write() as db:
                cur = db.execute(
                    "INSERT INTO users (name, canonical_id, created) VALUES (?, ?, ?)",
                    (name, canonical_id, created),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"user name already taken: {name!r}") from None
        assert cur.lastrowid is not None
        return User(cur.lastrowid, name, canonical_id, created)

    def get_user(self, user_id: int) -> User | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE id = ?", user_id)
        return User(*row) if row else None

    def get_user_by_canonical_id(self, canonical_id: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE canonical_id = ?", canonical_id)
        return User(*row) if row else None

    def get_user_by_name(self, name: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE name = ?", name)
        return User(*row) if row else None

    def list_users(self) -> list[User]:
        rows = self._conn.execute(f"SELECT {_USER_COLS} FROM users ORDER BY id")
        return [User(*row) for row in rows]

    def delete_user(self, user_id: int) -> None:
        with self._write() as db:
            for table in ("buckets", "objects", "uploads"):
                if self._one(f"SELECT 1 FROM {table} WHERE owner_id = ? LIMIT 1", user_id):
                    raise ValueError(f"user {user_id} still owns {table}")
            db.execute("DELETE FROM access_keys WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM users WHERE id = ?", (user_id,))

    def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        created = time.time()
        with self._write():
            if self._one("SELECT 1 FROM users WHERE id = ?", user_id) is None:
                raise ValueError(f"no such user: {user_id}")
            if self._one("SELECT 1 FROM access_keys WHERE access_key = ?", access_key):
                raise ValueError(f"access key already exists: {access_key}")
            if not self._count_up(user_id, "key_count", MAX_KEYS_PER_USER):
                raise ValueError(f"user {user_id} already has {MAX_KEYS_PER_USER} access keys")
            self._one(
                f"INSERT INTO access_keys ({_KEY_COLS}) VALUES (?, ?, ?, 1, ?, NULL)",
                *(access_key, seal_secret(self._box, secret_key), user_id, created),
            )
        return AccessKey(access_key, secret_key, user_id, True, created)

    def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        """A key and its user in one query: every signed request needs both."""
        row = self._one(_CREDENTIALS_SQL, access_key)
        return (self._key(row[:6]), User(*row[6:])) if row else None

    def get_key(self, access_key: str) -> AccessKey | None:
        row = self._one(f"SELECT {_KEY_COLS} FROM access_keys WHERE access_key = ?", access_key)
        return self._key(row) if row else None

    def list_keys(self, user_id: int | None = None) -> list[AccessKey]:
        where, args = ("", ()) if user_id is None else (" WHERE user_id = ?", (user_id,))
        rows = self._conn.execute(
            f"SELECT {_KEY_COLS} FROM access_keys{where} ORDER BY user_id, created, access_key",
            args,
        )
        return [self._key(row) for row in rows]

    def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        sql = "UPDATE access_keys SET enabled = ? WHERE access_key = ?"
        with self._write() as db:
            return db.execute(sql, (int(enabled), access_key)).rowcount > 0

    def delete_key(self, access_key: str) -> bool:
        with self._write():
            row = self._one(
                "DELETE FROM access_keys WHERE access_key = ? RETURNING user_id", access_key
            )
            if row is not None:
                self._count_down(row[0], "key_count")
            return row is not None

    # -- quotas: counters on the user row ---------------------------------------------
    def _count_up(self, user_id: int, counter: str, limit: int) -> bool:
        """One more of counter, guarded by the limit in the same statement (no
        count-then-insert: that is only right while no other writer can commit in
        between); False at the limit. In a write transaction."""
        sql = f"UPDATE users SET {counter} = {counter} + 1 WHERE id = ? AND {counter} < ?"
        return self._conn.execute(sql, (user_id, limit)).rowcount > 0

    def _count_down(self, user_id: int, counter: str) -> None:
        sql = f"UPDATE users SET {counter} = {counter} - 1 WHERE id = ? AND {counter} > 0"
        self._conn.execute(sql, (user_id,))

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
        object_lock: str | None = None,
    ) -> Bucket:
        created = time.time()
        versioning = None if object_lock is None else "Enabled"
        try:
            with self._write() as db:
                row = self._one("SELECT owner_id FROM buckets WHERE name = ?", name)
                if row is not None:
                    mine = row[0] == owner_id
                    code = "BucketAlreadyOwnedByYou" if mine else "BucketAlreadyExists"
                    raise S3Error(code, BucketName=name)
                if not self._count_up(owner_id, "bucket_count", max_buckets):
                    if self._one("SELECT 1 FROM users WHERE id = ?", owner_id) is None:
                        raise ValueError(f"no such user: {owner_id}")
                    raise S3Error("TooManyBuckets")
                cur = db.execute(
                    "INSERT INTO buckets (name, owner_id, region, created, acl, tier, ownership,"
                    " versioning, object_lock) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, owner_id, region, created, acl, tier, ownership, versioning,
                     object_lock),
                )  # fmt: skip
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):  # lost a race to another writer
                raise S3Error("BucketAlreadyExists", BucketName=name) from None
            raise ValueError(f"no such user: {owner_id} ({exc})") from None
        assert cur.lastrowid is not None
        return Bucket(cur.lastrowid, name, owner_id, region, created, acl, None, tier, ownership,
                      versioning=versioning, object_lock=object_lock)  # fmt: skip

    def get_bucket(self, name: str) -> Bucket | None:
        row = self._one(f"SELECT {_BUCKET_COLS} FROM buckets WHERE name = ?", name)
        return Bucket(*row) if row else None

    def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        cond, args = key_range("name", *lower_bound(prefix, start_after), successor(prefix))
        rows = self._conn.execute(
            f"SELECT {_BUCKET_COLS} FROM buckets WHERE owner_id = ? AND {cond}"
            " ORDER BY name LIMIT ?",
            [owner_id, *args, max(limit, 0)],
        )
        return [Bucket(*row) for row in rows]

    def set_bucket_acl(self, bucket_id: int, acl: str) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET acl = ? WHERE id = ?", (acl, bucket_id))

    def set_bucket_cors(self, bucket_id: int, cors: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET cors = ? WHERE id = ?", (cors, bucket_id))

    def get_bucket_tags(self, bucket_id: int) -> dict[str, str] | None:
        row = self._one("SELECT tags FROM buckets WHERE id = ?", bucket_id)
        return nullable_loads(row[0]) if row and row[0] else None

    def set_bucket_tags(self, bucket_id: int, tags: dict[str, str]) -> None:
        with self._write() as db:
            sql = "UPDATE buckets SET tags = ? WHERE id = ?"
            db.execute(sql, (nullable_dumps(tags), bucket_id))

    def set_bucket_ownership(self, bucket_id: int, ownership: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET ownership = ? WHERE id = ?", (ownership, bucket_id))

    def set_bucket_public_access_block(self, bucket_id: int, config: str | None) -> None:
        sql = "UPDATE buckets SET public_access_block = ? WHERE id = ?"
        with self._write() as db:
            db.execute(sql, (config, bucket_id))

    def set_bucket_policy(self, bucket_id: int, policy: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET policy = ? WHERE id = ?", (policy, bucket_id))

    def set_bucket_lifecycle(self, bucket_id: int, lifecycle: str | None) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET lifecycle = ? WHERE id = ?", (lifecycle, bucket_id))

    def set_bucket_versioning(self, bucket_id: int, status: str) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET versioning = ? WHERE id = ?", (status, bucket_id))

    def set_bucket_object_lock(self, bucket_id: int, config: str) -> None:
        with self._write() as db:
            db.execute("UPDATE buckets SET object_lock = ?, versioning = 'Enabled' WHERE id = ?",
                       (config, bucket_id))  # fmt: skip

    def lifecycle_buckets(self) -> list[Bucket]:
        rows = self._conn.execute(
            f"SELECT {_BUCKET_COLS} FROM buckets WHERE lifecycle IS NOT NULL ORDER BY name"
        ).fetchall()
        return [Bucket(*row) for row in rows]

    def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        now = time.time()
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
                " expires = excluded.expires"
                " WHERE leases.holder = excluded.holder OR leases.expires < ?",
                (name, holder, now + seconds, now),
            )
            return cur.rowcount == 1
