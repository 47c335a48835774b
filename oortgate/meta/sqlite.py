"""MetaStore on SQLite: WAL, synchronous=FULL, one connection per worker process.

Keys are TEXT with the default BINARY collation, which compares UTF-8 bytes: exactly the
order S3 lists in. Prefixes are range conditions on the (bucket_id, key) primary key,
never LIKE (which would treat ``%`` and ``_`` as wildcards and could not use the index).
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from collections.abc import Generator, Iterator, Sequence
from contextlib import closing, contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from oortgate.errors import S3Error
from oortgate.meta.base import MAX_KEYS_PER_USER
from oortgate.meta.models import AccessKey, Bucket, ObjectPage, ObjectRecord, User

SCHEMA_VERSION = 1
_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    canonical_id TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (access_key TEXT PRIMARY KEY, secret_key TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS access_keys_user ON access_keys(user_id);
CREATE TABLE IF NOT EXISTS buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users(id), region TEXT NOT NULL, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS buckets_owner ON buckets(owner_id, name);
CREATE TABLE IF NOT EXISTS objects (bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key TEXT NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, content_type TEXT NOT NULL, system_headers TEXT NOT NULL,
    user_metadata TEXT NOT NULL, checksums TEXT NOT NULL, storage_class TEXT NOT NULL,
    PRIMARY KEY (bucket_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects(blob_id);
CREATE TABLE IF NOT EXISTS pending_blobs (blob_id TEXT PRIMARY KEY, created REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS garbage (blob_id TEXT PRIMARY KEY) WITHOUT ROWID
"""

_OBJ_COLS = (
    "bucket_id, key, blob_id, size, etag, last_modified, content_type,"
    " system_headers, user_metadata, checksums, storage_class"
)
_USER_COLS = "id, name, canonical_id, created"
_KEY_COLS = "access_key, secret_key, user_id, enabled, created"
_BUCKET_COLS = "id, name, owner_id, region, created"


def successor(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with prefix, or None
    when there is none (an empty prefix, or only U+10FFFF code points)."""
    for i in range(len(prefix) - 1, -1, -1):
        code = ord(prefix[i]) + 1
        if code == 0xD800:
            code = 0xE000  # surrogates cannot occur in UTF-8 keys: skip over them
        if code <= 0x10FFFF:
            return prefix[:i] + chr(code)
    return None


def _lower_bound(prefix: str, start_after: str) -> tuple[str, bool]:
    """(bound, inclusive) for keys that are > start_after and >= prefix."""
    return (start_after, False) if start_after >= prefix else (prefix, True)


def _dumps(value: dict[str, str]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _object(row: Sequence[Any]) -> ObjectRecord:
    bucket_id, key, blob_id, size, etag, modified, ctype, headers, meta, sums, cls = row
    docs = json.loads(headers), json.loads(meta), json.loads(sums)
    return ObjectRecord(bucket_id, key, blob_id, size, etag, modified, ctype, *docs, cls)


def _key(row: Sequence[Any]) -> AccessKey:
    return AccessKey(row[0], row[1], row[2], bool(row[3]), row[4])


def _key_range(
    column: str, bound: str, inclusive: bool, upper: str | None
) -> tuple[str, list[str]]:
    """SQL condition and arguments for ``bound <(=) column < upper``: an index seek."""
    sql = f"{column} {'>=' if inclusive else '>'} ?"
    return (sql, [bound]) if upper is None else (f"{sql} AND {column} < ?", [bound, upper])


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


class SqliteMetaStore:
    """One connection; the server drives it from a single dedicated thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        # Create the file 0600 before SQLite does: it holds secret keys. SQLite gives the
        # -wal and -shm files the same mode.
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(self.path, 0o600)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA busy_timeout = 10000")  # first: the others may wait
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = FULL")  # acknowledged means durable
        self._conn.execute("PRAGMA foreign_keys = ON")
        self._migrate()

    def _migrate(self) -> None:
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema {version} is newer than this code")
            if version < 1:
                for statement in _SCHEMA.split(";"):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front: a deferred transaction that upgrades
        # from read to write can fail with SQLITE_BUSY regardless of busy_timeout.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several statements see one consistent state."""
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    def _one(self, sql: str, *args: object) -> Any:
        return self._conn.execute(sql, args).fetchone()

    def close(self) -> None:
        self._conn.close()

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

    def get_user_by_name(self, name: str) -> User | None:
        row = self._one(f"SELECT {_USER_COLS} FROM users WHERE name = ?", name)
        return User(*row) if row else None

    def list_users(self) -> list[User]:
        rows = self._conn.execute(f"SELECT {_USER_COLS} FROM users ORDER BY id")
        return [User(*row) for row in rows]

    def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        created = time.time()
        with self._write():
            if self._one("SELECT 1 FROM users WHERE id = ?", user_id) is None:
                raise ValueError(f"no such user: {user_id}")
            if self._one("SELECT 1 FROM access_keys WHERE access_key = ?", access_key):
                raise ValueError(f"access key already exists: {access_key}")
            (count,) = self._one("SELECT count(*) FROM access_keys WHERE user_id = ?", user_id)
            if count >= MAX_KEYS_PER_USER:
                raise ValueError(f"user {user_id} already has {MAX_KEYS_PER_USER} access keys")
            self._one(
                f"INSERT INTO access_keys ({_KEY_COLS}) VALUES (?, ?, ?, 1, ?)",
                *(access_key, secret_key, user_id, created),
            )
        return AccessKey(access_key, secret_key, user_id, True, created)

    def get_key(self, access_key: str) -> AccessKey | None:
        row = self._one(f"SELECT {_KEY_COLS} FROM access_keys WHERE access_key = ?", access_key)
        return _key(row) if row else None

    def list_keys(self, user_id: int | None = None) -> list[AccessKey]:
        where, args = ("", ()) if user_id is None else (" WHERE user_id = ?", (user_id,))
        rows = self._conn.execute(
            f"SELECT {_KEY_COLS} FROM access_keys{where} ORDER BY user_id, created, access_key",
            args,
        )
        return [_key(row) for row in rows]

    def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        sql = "UPDATE access_keys SET enabled = ? WHERE access_key = ?"
        with self._write() as db:
            return db.execute(sql, (int(enabled), access_key)).rowcount > 0

    def delete_key(self, access_key: str) -> bool:
        with self._write() as db:
            return (
                db.execute("DELETE FROM access_keys WHERE access_key = ?", (access_key,)).rowcount
                > 0
            )

    # -- buckets --------------------------------------------------------------------
    def create_bucket(self, name: str, owner_id: int, region: str, max_buckets: int) -> Bucket:
        created = time.time()
        try:
            with self._write() as db:
                row = self._one("SELECT owner_id FROM buckets WHERE name = ?", name)
                if row is not None:
                    mine = row[0] == owner_id
                    code = "BucketAlreadyOwnedByYou" if mine else "BucketAlreadyExists"
                    raise S3Error(code, BucketName=name)
                (count,) = self._one("SELECT count(*) FROM buckets WHERE owner_id = ?", owner_id)
                if count >= max_buckets:
                    raise S3Error("TooManyBuckets")
                cur = db.execute(
                    "INSERT INTO buckets (name, owner_id, region, created) VALUES (?, ?, ?, ?)",
                    (name, owner_id, region, created),
                )
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" in str(exc):  # lost a race to another writer
                raise S3Error("BucketAlreadyExists", BucketName=name) from None
            raise ValueError(f"no such user: {owner_id}") from None
        assert cur.lastrowid is not None
        return Bucket(cur.lastrowid, name, owner_id, region, created)

    def get_bucket(self, name: str) -> Bucket | None:
        row = self._one(f"SELECT {_BUCKET_COLS} FROM buckets WHERE name = ?", name)
        return Bucket(*row) if row else None

    def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        cond, args = _key_range("name", *_lower_bound(prefix, start_after), successor(prefix))
        rows = self._conn.execute(
            f"SELECT {_BUCKET_COLS} FROM buckets WHERE owner_id = ? AND {cond}"
            " ORDER BY name LIMIT ?",
            [owner_id, *args, max(limit, 0)],
        )
        return [Bucket(*row) for row in rows]

    def delete_bucket(self, bucket_id: int) -> None:
        """Deleting a bucket that no longer exists is a no-op."""
        with self._write() as db:
            row = self._one("SELECT name FROM buckets WHERE id = ?", bucket_id)
            if row is None:
                return
            if self.has_objects(bucket_id):
                raise S3Error("BucketNotEmpty", BucketName=row[0])
            db.execute("DELETE FROM buckets WHERE id = ?", (bucket_id,))

    # -- objects --------------------------------------------------------------------
    def get_object(self, bucket_id: int, key: str) -> ObjectRecord | None:
        sql = f"SELECT {_OBJ_COLS} FROM objects WHERE bucket_id = ? AND key = ?"
        row = self._one(sql, bucket_id, key)
        return _object(row) if row else None

    def put_object(self, record: ObjectRecord) -> None:
        """Raises S3Error NoSuchBucket if the bucket was deleted meanwhile (the pending
        mark then stays: the caller drops it)."""
        r = record
        row = (r.bucket_id, r.key, r.blob_id, r.size, r.etag, r.last_modified, r.content_type)
        docs = (_dumps(r.system_headers), _dumps(r.user_metadata), _dumps(r.checksums))
        try:
            with self._write() as db:
                old = self._one(
                    "SELECT blob_id FROM objects WHERE bucket_id = ? AND key = ?",
                    r.bucket_id,
                    r.key,
                )
                cur = db.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (r.blob_id,))
                if cur.rowcount == 0 and not self._referenced(r.blob_id):
                    raise S3Error("NoSuchKey", Key=r.key)  # a copy whose source vanished
                db.execute(
                    f"INSERT OR REPLACE INTO objects ({_OBJ_COLS}) VALUES ({', '.join('?' * 11)})",
                    (*row, *docs, r.storage_class),
                )
                if old is not None and old[0] != r.blob_id:
                    self._release(old[0])
        except sqlite3.IntegrityError:
            raise S3Error("NoSuchBucket") from None

    def delete_object(self, bucket_id: int, key: str) -> bool:
        where = "WHERE bucket_id = ? AND key = ?"
        with self._write() as db:
            row = self._one(f"SELECT blob_id FROM objects {where}", bucket_id, key)
            if row is None:
                return False
            db.execute(f"DELETE FROM objects {where}", (bucket_id, key))
            self._release(row[0])
            return True

    def has_objects(self, bucket_id: int) -> bool:
        return self._one("SELECT 1 FROM objects WHERE bucket_id = ? LIMIT 1", bucket_id) is not None

    def _referenced(self, blob_id: str) -> bool:
        return self._one("SELECT 1 FROM objects WHERE blob_id = ? LIMIT 1", blob_id) is not None

    def _release(self, blob_id: str) -> None:
        """A blob lost a reference: queue it as garbage if that was its last (copies
        share blobs, so another object may still point at it)."""
        if not self._referenced(blob_id):
            self._one("INSERT OR IGNORE INTO garbage (blob_id) VALUES (?)", blob_id)

    # -- listing --------------------------------------------------------------------
    def list_objects(
        self,
        bucket_id: int,
        prefix: str = "",
        delimiter: str = "",
        start_after: str = "",
        max_keys: int = 1000,
    ) -> ObjectPage:
        """max_keys <= 0 returns an empty, untruncated page (as AWS does for max-keys=0).
        One entry beyond max_keys is looked up, so is_truncated is never a false alarm."""
        if max_keys <= 0:
            return ObjectPage([], [], False, None)
        walk = self._walk(bucket_id, prefix, delimiter, start_after, max_keys + 1)
        with self._snapshot(), closing(walk):
            entries = list(islice(walk, max_keys + 1))
        truncated = len(entries) > max_keys
        entries = entries[:max_keys]
        objects = [e for e in entries if isinstance(e, ObjectRecord)]
        prefixes = [e for e in entries if isinstance(e, str)]
        marker = None
        if truncated:
            last = entries[-1]
            marker = last if isinstance(last, str) else last.key
        return ObjectPage(objects, prefixes, truncated, marker)

    def _walk(
        self, bucket_id: int, prefix: str, delimiter: str, start_after: str, batch: int
    ) -> Generator[ObjectRecord | str, None, None]:
        """Objects and common prefixes in key order. After a common prefix P, the next
        seek starts at successor(P): its keys are skipped by the index, not read."""
        upper = successor(prefix)
        bound, inclusive = _lower_bound(prefix, start_after)
        while True:
            rolled: str | None = None
            seen = 0
            cond, args = _key_range("key", bound, inclusive, upper)
            sql = f"SELECT {_OBJ_COLS} FROM objects WHERE bucket_id = ? AND {cond} ORDER BY key"
            with closing(self._conn.execute(sql + " LIMIT ?", [bucket_id, *args, batch])) as rows:
                for row in rows:
                    seen += 1
                    key: str = row[1]
                    cut = key.find(delimiter, len(prefix)) if delimiter else -1
                    if cut >= 0:
                        rolled = key[: cut + len(delimiter)]
                        break
                    yield _object(row)
                    bound, inclusive = key, False
            if rolled is None:
                if seen < batch:
                    return  # the range is exhausted
                continue  # a full batch of plain keys: seek on from the last one
            # A start_after inside (or equal to) this prefix means its keys were listed
            # on an earlier page: skip it without returning it again.
            if rolled > start_after:
                yield rolled
            after = successor(rolled)
            if after is None or (upper is not None and after >= upper):
                return
            bound, inclusive = after, True

    # -- blob lifecycle -------------------------------------------------------------
    def add_pending_blob(self, blob_id: str) -> None:
        try:
            with self._write():
                self._one(
                    "INSERT INTO pending_blobs (blob_id, created) VALUES (?, ?)",
                    blob_id,
                    time.time(),
                )
        except sqlite3.IntegrityError:
            raise ValueError(f"blob id already pending: {blob_id}") from None

    def drop_pending_blob(self, blob_id: str) -> None:
        with self._write() as db:
            if db.execute("DELETE FROM pending_blobs WHERE blob_id = ?", (blob_id,)).rowcount:
                self._one("INSERT OR IGNORE INTO garbage (blob_id) VALUES (?)", blob_id)

    def take_garbage(self, limit: int = 1000) -> list[str]:
        """Does not remove the ids: only forget_garbage does, after the files are gone,
        so a collector that dies midway leaves them for the next one."""
        rows = self._conn.execute("SELECT blob_id FROM garbage ORDER BY blob_id LIMIT ?", (limit,))
        return [row[0] for row in rows]

    def forget_garbage(self, blob_ids: Sequence[str]) -> None:
        with self._write() as db:
            db.executemany("DELETE FROM garbage WHERE blob_id = ?", [(b,) for b in blob_ids])

    def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        known: set[str] = set()
        with self._snapshot() as db:
            for chunk in _chunks(list(blob_ids)):
                marks = ", ".join("?" * len(chunk))
                for table in ("objects", "pending_blobs", "garbage"):
                    sql = f"SELECT DISTINCT blob_id FROM {table} WHERE blob_id IN ({marks})"
                    known.update(row[0] for row in db.execute(sql, chunk))
        return known

    def recover_pending(self) -> int:
        with self._write() as db:
            db.execute("INSERT OR IGNORE INTO garbage (blob_id) SELECT blob_id FROM pending_blobs")
            return db.execute("DELETE FROM pending_blobs").rowcount
