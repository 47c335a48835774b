"""The SQLite connection, schema and transaction helpers shared by the store's parts.

Keys are TEXT with the default BINARY collation, which compares UTF-8 bytes: exactly the
order S3 lists in. Prefixes are range conditions on primary keys, never LIKE (which would
treat ``%`` and ``_`` as wildcards and could not use the index).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from oortgate.meta.body_rows import INLINE_MARK
from oortgate.secretbox import SecretBox
from oortgate.storage.space import StorageFull, is_no_space, no_space_as_full

_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit
# A row's blob_id that names a blob file: not an inline blob, not a multipart object's ''.
FILE_BLOB = f"blob_id != '' AND substr(blob_id, 1, 1) != '{INLINE_MARK}'"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    canonical_id TEXT NOT NULL UNIQUE, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (access_key TEXT PRIMARY KEY, secret_key TEXT NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    enabled INTEGER NOT NULL, created REAL NOT NULL, rate_limit REAL);
CREATE INDEX IF NOT EXISTS access_keys_user ON access_keys(user_id);
CREATE TABLE IF NOT EXISTS buckets (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
    owner_id INTEGER NOT NULL REFERENCES users(id), region TEXT NOT NULL, created REAL NOT NULL,
    acl TEXT NOT NULL DEFAULT 'private', cors TEXT, tier TEXT NOT NULL DEFAULT 'standard');
CREATE INDEX IF NOT EXISTS buckets_owner ON buckets(owner_id, name);
CREATE TABLE IF NOT EXISTS objects (bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key TEXT NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, content_type TEXT NOT NULL, system_headers TEXT NOT NULL,
    user_metadata TEXT NOT NULL, checksums TEXT NOT NULL, storage_class TEXT NOT NULL,
    parts_count INTEGER NOT NULL DEFAULT 0, acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER,
    restore_ready REAL, restore_expiry REAL,
    PRIMARY KEY (bucket_id, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_blob ON objects(blob_id);
CREATE TABLE IF NOT EXISTS object_parts (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    idx INTEGER NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    PRIMARY KEY (bucket_id, key, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_parts_blob ON object_parts(blob_id);
CREATE TABLE IF NOT EXISTS uploads (upload_id TEXT PRIMARY KEY,
    bucket_id INTEGER NOT NULL REFERENCES buckets(id), key TEXT NOT NULL,
    initiated REAL NOT NULL, content_type TEXT NOT NULL, system_headers TEXT NOT NULL,
    user_metadata TEXT NOT NULL, storage_class TEXT NOT NULL, checksum_algorithm TEXT,
    checksum_type TEXT, acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_key ON uploads(bucket_id, key, upload_id);
CREATE TABLE IF NOT EXISTS upload_parts (upload_id TEXT NOT NULL, part_number INTEGER NOT NULL,
    blob_id TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, checksum TEXT,
    PRIMARY KEY (upload_id, part_number)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS upload_parts_blob ON upload_parts(blob_id);
CREATE TABLE IF NOT EXISTS pending_blobs (blob_id TEXT PRIMARY KEY, created REAL NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS garbage (blob_id TEXT PRIMARY KEY) WITHOUT ROWID
"""

# Version 2: small objects' bytes, kept apart from the objects table so that listings
# scan narrow rows.
_INLINE_BLOBS = """
CREATE TABLE IF NOT EXISTS inline_blobs (blob_id TEXT PRIMARY KEY, data BLOB NOT NULL)
"""

# Version 3: when a blob became garbage, so that the collector can leave it for a grace
# period (a download under way may not have opened it yet); indexed, so that a pass of
# the collector reads only what is due, not the grace period's worth of fresh garbage.
_GARBAGE_QUEUED_AT = """
ALTER TABLE garbage ADD COLUMN queued_at REAL NOT NULL DEFAULT 0;
CREATE INDEX garbage_queued ON garbage(queued_at)
"""

# Version 4: a completed multipart object's parts keep the number the client gave each
# and its checksum (GetObjectAttributes lists them); NULL in rows written before.
_OBJECT_PART_ATTRIBUTES = """
ALTER TABLE object_parts ADD COLUMN part_number INTEGER;
ALTER TABLE object_parts ADD COLUMN checksum TEXT
"""

# Version 5: tag sets (see oortgate.tagging) as JSON, NULL when there are none:
# objects', open uploads' (applied at completion) and buckets'.
_TAGS = """
ALTER TABLE objects ADD COLUMN tags TEXT;
ALTER TABLE uploads ADD COLUMN tags TEXT;
ALTER TABLE buckets ADD COLUMN tags TEXT
"""

# Version 6: completed multipart uploads, so that a retried CompleteMultipartUpload (its response
# was lost) answers 200 again rather than NoSuchUpload; pruned by age (indexed).
_COMPLETED_UPLOADS = """
CREATE TABLE IF NOT EXISTS completed_uploads (upload_id TEXT PRIMARY KEY,
    bucket_id INTEGER NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL,
    last_modified REAL NOT NULL, completed REAL NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS completed_uploads_age ON completed_uploads(completed)
"""

# Version 7: a bucket's Object Ownership setting and its PublicAccessBlock configuration
# (JSON); NULL: none set.
_BUCKET_ACCESS_CONTROLS = """
ALTER TABLE buckets ADD COLUMN ownership TEXT;
ALTER TABLE buckets ADD COLUMN public_access_block TEXT
"""

# Version 8: each blob's integrity CRC (oortgate.integrity), where a row names the blob;
# NULL in rows written before (those are not checked on read).
_INTEGRITY = """
ALTER TABLE objects ADD COLUMN crc64 TEXT;
ALTER TABLE object_parts ADD COLUMN crc64 TEXT;
ALTER TABLE upload_parts ADD COLUMN crc64 TEXT
"""

# Version 9: nothing decides "is any row still pointing at this blob?" inside a
# transaction (correct only while one writer exists): each blob file has a row counting
# its references (inline blobs: a column), updated with the rows that reference it; a
# count reaching 0 queues the blob as garbage. Workers register sessions; a pending blob
# belongs to one (NULL: written before sessions, or by a session-less tool). Users carry
# their bucket and key counts, raised by a guarded UPDATE. All backfilled from the rows.
_REFERENCE_COUNTS = f"""
CREATE TABLE IF NOT EXISTS blobs (blob_id TEXT PRIMARY KEY, refs INTEGER NOT NULL)
    WITHOUT ROWID;
INSERT INTO blobs (blob_id, refs) SELECT blob_id, COUNT(*) FROM (
    SELECT blob_id FROM objects WHERE parts_count = 0 AND {FILE_BLOB}
    UNION ALL SELECT blob_id FROM object_parts WHERE {FILE_BLOB}
    UNION ALL SELECT blob_id FROM upload_parts WHERE {FILE_BLOB}) GROUP BY blob_id;
ALTER TABLE inline_blobs ADD COLUMN refs INTEGER NOT NULL DEFAULT 0;
UPDATE inline_blobs SET refs = (SELECT COUNT(*) FROM objects
    WHERE objects.blob_id = inline_blobs.blob_id AND objects.parts_count = 0);
DELETE FROM inline_blobs WHERE refs = 0;
CREATE TABLE IF NOT EXISTS sessions (session_id TEXT PRIMARY KEY, host TEXT NOT NULL,
    pid INTEGER NOT NULL, started REAL NOT NULL, heartbeat REAL NOT NULL) WITHOUT ROWID;
ALTER TABLE pending_blobs ADD COLUMN session_id TEXT;
CREATE INDEX pending_blobs_session ON pending_blobs(session_id);
ALTER TABLE users ADD COLUMN bucket_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN key_count INTEGER NOT NULL DEFAULT 0;
UPDATE users SET
    bucket_count = (SELECT COUNT(*) FROM buckets WHERE buckets.owner_id = users.id),
    key_count = (SELECT COUNT(*) FROM access_keys WHERE access_keys.user_id = users.id)
"""

# Version 10: console sessions signed out before their tokens expire (every worker
# refuses such a token at once); a row goes once its token would be refused anyway.
_CONSOLE_SIGNOUTS = """
CREATE TABLE IF NOT EXISTS console_signouts (sid TEXT PRIMARY KEY, expires REAL NOT NULL)
    WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS console_signouts_expires ON console_signouts(expires)
"""

# Version 11: a bucket's policy (the JSON text as put); NULL: none.
_BUCKET_POLICY = """
ALTER TABLE buckets ADD COLUMN policy TEXT
"""

# Version 12: read leases. A download of a large or multipart object leases its blobs
# under its worker's session; the collector skips a leased blob (see MetaStore.lease_blobs).
_READ_LEASES = """
CREATE TABLE IF NOT EXISTS read_leases (blob_id TEXT NOT NULL, lease_id TEXT NOT NULL,
    session_id TEXT NOT NULL, PRIMARY KEY (blob_id, lease_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS read_leases_lease ON read_leases(lease_id);
CREATE INDEX IF NOT EXISTS read_leases_session ON read_leases(session_id)
"""

# Version 13: a bucket's lifecycle rules (JSON); the leases that let one gateway at a
# time do a job (the lifecycle worker).
_LIFECYCLE = """
ALTER TABLE buckets ADD COLUMN lifecycle TEXT;
CREATE TABLE IF NOT EXISTS leases (name TEXT PRIMARY KEY, holder TEXT NOT NULL,
    expires REAL NOT NULL)
"""

# Version 14: versioning. ``objects`` keeps each key's current version only (its
# version_id '' being the null version), so reads and plain listings cost what they
# did; object_versions holds noncurrent versions and delete markers, newest first by
# ``seq`` (falling per key), with their parts in object_version_parts.
_VERSIONS = """
ALTER TABLE buckets ADD COLUMN versioning TEXT;
ALTER TABLE objects ADD COLUMN version_id TEXT NOT NULL DEFAULT '';
CREATE TABLE IF NOT EXISTS object_versions (bucket_id INTEGER NOT NULL REFERENCES buckets(id),
    key TEXT NOT NULL, seq INTEGER NOT NULL, version_id TEXT NOT NULL,
    marker INTEGER NOT NULL DEFAULT 0, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    etag TEXT NOT NULL, last_modified REAL NOT NULL, content_type TEXT NOT NULL,
    system_headers TEXT NOT NULL, user_metadata TEXT NOT NULL, checksums TEXT NOT NULL,
    storage_class TEXT NOT NULL, parts_count INTEGER NOT NULL DEFAULT 0,
    acl TEXT NOT NULL DEFAULT 'private', owner_id INTEGER, restore_ready REAL,
    restore_expiry REAL, tags TEXT, crc64 TEXT,
    PRIMARY KEY (bucket_id, key, seq)) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS object_versions_id ON object_versions(bucket_id, key, version_id);
CREATE INDEX IF NOT EXISTS object_versions_blob ON object_versions(blob_id);
CREATE TABLE IF NOT EXISTS object_version_parts (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    seq INTEGER NOT NULL, idx INTEGER NOT NULL, blob_id TEXT NOT NULL, size INTEGER NOT NULL,
    part_number INTEGER NOT NULL, checksum TEXT, crc64 TEXT,
    PRIMARY KEY (bucket_id, key, seq, idx)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS object_version_parts_blob ON object_version_parts(blob_id)
"""

# Version 15: object lock. A bucket's lock configuration (JSON; NULL: no lock), the lock
# an upload's CreateMultipartUpload asked for (JSON, applied at Complete), and each
# locked version's retention and legal hold, keyed by version id rather than kept on the
# objects/object_versions rows: a version moving between those tables keeps its lock
# with no statement of its own, and reads of unlocked buckets never touch this table.
_OBJECT_LOCK = """
ALTER TABLE buckets ADD COLUMN object_lock TEXT;
ALTER TABLE uploads ADD COLUMN object_lock TEXT;
CREATE TABLE IF NOT EXISTS object_locks (bucket_id INTEGER NOT NULL, key TEXT NOT NULL,
    version_id TEXT NOT NULL, mode TEXT, retain_until REAL,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket_id, key, version_id)) WITHOUT ROWID
"""

# The statements that bring a database from version N-1 to N, for N = 1, 2, ...
_MIGRATIONS = (
    _SCHEMA, _INLINE_BLOBS, _GARBAGE_QUEUED_AT, _OBJECT_PART_ATTRIBUTES, _TAGS,
    _COMPLETED_UPLOADS, _BUCKET_ACCESS_CONTROLS, _INTEGRITY, _REFERENCE_COUNTS,
    _CONSOLE_SIGNOUTS, _BUCKET_POLICY, _READ_LEASES, _LIFECYCLE, _VERSIONS, _OBJECT_LOCK,
)  # fmt: skip
SCHEMA_VERSION = len(_MIGRATIONS)

# Every table whose rows keep a blob alive.
BLOB_REFERENCES = (
    "objects", "object_parts", "upload_parts", "object_versions", "object_version_parts"
)
# Every table that knows a blob id: references, their counts, pending marks, garbage.
BLOB_TABLES = (*BLOB_REFERENCES, "blobs", "pending_blobs", "garbage")


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


def lower_bound(prefix: str, start_after: str) -> tuple[str, bool]:
    """(bound, inclusive) for keys that are > start_after and >= prefix."""
    return (start_after, False) if start_after >= prefix else (prefix, True)


def key_range(column: str, bound: str, inclusive: bool, upper: str | None) -> tuple[str, list[str]]:
    """SQL condition and arguments for ``bound <(=) column < upper``: an index seek."""
    sql = f"{column} {'>=' if inclusive else '>'} ?"
    return (sql, [bound]) if upper is None else (f"{sql} AND {column} < ?", [bound, upper])


def qualified(table: str, columns: str) -> str:
    """ "a, b" -> "t.a, t.b": a column list for a join."""
    return ", ".join(f"{table}.{c.strip()}" for c in columns.split(","))


def dumps(value: dict[str, str]) -> str:
    if not value:  # most documents of a row are empty: no encoder call for them
        return "{}"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def nullable_dumps(value: dict[str, str]) -> str | None:
    """A document that is usually empty (tags): NULL then, no text to store."""
    return dumps(value) if value else None


def nullable_loads(text: str | None) -> dict[str, str]:
    """A document as dumps (or nullable_dumps) stored it; the empty one without a decoder
    call (most documents of a row are empty)."""
    doc: dict[str, str] = json.loads(text) if text and text != "{}" else {}
    return doc


def chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _lost_group(cause: BaseException) -> Exception:
    message = f"the grouped transaction was rolled back ({cause})"
    return StorageFull(message) if is_no_space(cause) else sqlite3.OperationalError(message)


class Database:
    """One connection; the server drives it from a single dedicated thread."""

    def __init__(self, path: Path, box: SecretBox | None = None) -> None:
        self.path = Path(path)
        self._box = box  # encrypts secret keys at rest, when configured
        self._grouped = False
        self._session: str | None = None  # the session pending blobs are marked with
        self._group_lost: Exception | None = None  # why the group's transaction is gone
        # Create the file 0600 before SQLite does: it holds secret keys (SQLite gives the
        # -wal and -shm files the same mode). Never open and close an existing database
        # file here: closing any descriptor of a file drops all of this process's POSIX
        # locks on it, including those of connections already open, and SQLite's
        # locking (and so what other connections see) breaks.
        if not self.path.exists():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        os.chmod(self.path, 0o600)
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        # Writers from several processes queue on this lock (the kernel wakes the next
        # one at once) instead of in SQLite's busy handler, which polls with sleeps of
        # up to 100 ms. A separate file: flock on it never touches SQLite's own locks.
        self._writer_fd = os.open(
            f"{self.path}-writer", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        # Every statement is stepped to its end (fetchall): a PRAGMA that returns a row
        # and is left unfinished keeps a read transaction open on this connection, and
        # other connections then stop seeing other processes' commits.
        for pragma in (
            "busy_timeout = 10000",  # first: the others may have to wait for a lock
            "journal_mode = WAL",
            "synchronous = FULL",  # acknowledged means durable
            "foreign_keys = ON",
        ):
            self._conn.execute(f"PRAGMA {pragma}").fetchall()
        self._migrate()

    def _migrate(self) -> None:
        # Read first: an up-to-date database is opened without writing (a full disk).
        if self._one("PRAGMA user_version")[0] == SCHEMA_VERSION:
            return
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchall()[0][0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(f"{self.path}: schema {version} is newer than this code")
            for script in _MIGRATIONS[version:]:
                for statement in script.split(";"):
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def group(self) -> Iterator[None]:
        """Several operations, one commit (one fsync): inside, each operation's own
        transaction is a savepoint, so one that fails is undone alone. Nothing inside
        is durable before the block ends."""
        with self._transaction():
            self._grouped, self._group_lost = True, None
            try:
                yield
            finally:
                self._grouped = False
            if self._group_lost is not None:  # every operation of the group was undone
                raise self._group_lost

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self._grouped:
            with self._savepoint():
                yield self._conn
            return
        with self._transaction():
            yield self._conn

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """A write transaction, committed at the end unless the block raises. SQLite
        out of space (SQLITE_FULL) leaves as the store-neutral StorageFull."""
        fcntl.flock(self._writer_fd, fcntl.LOCK_EX)
        try:
            # IMMEDIATE takes the write lock up front: a deferred transaction that
            # upgrades from read to write can fail with SQLITE_BUSY whatever the timeout.
            with no_space_as_full():
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    self._conn.execute("COMMIT")
                except BaseException:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
        finally:
            fcntl.flock(self._writer_fd, fcntl.LOCK_UN)

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        if self._group_lost is not None:  # a SAVEPOINT now would be a transaction alone
            raise self._group_lost
        with no_space_as_full():
            self._conn.execute("SAVEPOINT op")
            try:
                yield
            except BaseException as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK TO op")
                    self._conn.execute("RELEASE op")
                else:  # SQLITE_FULL (or IOERR...) rolled back the whole transaction
                    self._group_lost = _lost_group(exc)
                raise
            self._conn.execute("RELEASE op")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several statements see one consistent state."""
        if self._grouped:  # already inside the group's transaction
            yield self._conn
            return
        self._conn.execute("BEGIN")
        try:
            yield self._conn
        finally:
            self._conn.execute("COMMIT")

    def _one(self, sql: str, *args: object) -> Any:
        # Close the cursor: a SELECT stepped to its first row but not to its end keeps
        # its statement active, and with it a read transaction that pins this
        # connection to an old snapshot (it would stop seeing other processes' writes).
        cursor = self._conn.execute(sql, args)
        try:
            return cursor.fetchone()
        finally:
            cursor.close()

    def data_version(self) -> int:
        version: int = self._one("PRAGMA data_version")[0]
        return version

    def close(self) -> None:
        self._conn.close()
        os.close(self._writer_fd)
