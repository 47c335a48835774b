"""The SQLite connection and transaction helpers shared by the store's parts (the schema
is in sqlite_schema).

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

from oortgate.meta.sqlite_schema import MIGRATIONS, SCHEMA_VERSION
from oortgate.secretbox import SecretBox
from oortgate.storage.space import StorageFull, is_no_space, no_space_as_full

_IN_CHUNK = 500  # ids per IN (...) query, well under SQLite's variable limit


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
            for script in MIGRATIONS[version:]:
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
