"""`oortgate admin migrate-meta`: the embedded SQLite store's rows into a PostgreSQL
database, with COPY, resumable, then verified.

The target is made by the normal migrations (as a gateway would) and must be empty,
unless ``resume``: a progress row per table in ``og_migration`` records how far the copy
got (the last key copied), committed in the same transaction as the rows it covers, so
a copy killed at any point continues where its last commit ended. The source is read in
primary-key order, one batch of rows per transaction; it is neither changed nor locked
here (the caller holds the data directory's lock, so no server writes meanwhile).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg

from oortgate.meta.pg_db import CONNECT_TIMEOUT
from oortgate.meta.pg_schema import SchemaError, migrate
from oortgate.migrate_tables import IDENTITY_TABLES, LEFT_BEHIND, TABLES, Table, TableDigest

BATCH_ROWS = 2000
_PROGRESS = """
CREATE TABLE IF NOT EXISTS og_migration (tbl text PRIMARY KEY, source text NOT NULL,
    after text, copied bigint NOT NULL DEFAULT 0, done boolean NOT NULL DEFAULT false)
"""


class MigrationError(Exception):
    """The migration cannot start or did not verify; the message says why."""


class Progress(Protocol):
    def phase(self, name: str, total: int | None, unit: str) -> None: ...
    def advance(self, amount: int) -> None: ...
    def say(self, line: str) -> None: ...


class Quiet:
    def phase(self, name: str, total: int | None, unit: str) -> None:
        pass

    def advance(self, amount: int) -> None:
        pass

    def say(self, line: str) -> None:
        pass


@dataclass
class Summary:
    source: str
    resumed: bool = False
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    left_behind: dict[str, int] = field(default_factory=dict)
    buckets: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "resumed": self.resumed, "verified": self.verified,
                "tables": self.tables, "buckets": self.buckets,
                "left_behind": self.left_behind, "problems": self.problems}  # fmt: skip


def connect_target(url: str) -> psycopg.Connection[tuple[Any, ...]]:
    """The target, its schema brought up to date by the gateway's own migrations."""

    async def schema() -> None:
        conn = await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT
        )
        async with conn:
            try:
                await migrate(conn)
            except SchemaError as exc:  # a newer schema, or a server that loses commits
                raise MigrationError(f"--to: {exc}") from None

    asyncio.run(schema())
    # Autocommit: each batch is one explicit transaction with its progress row.
    return psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)


def migrate_meta(
    source: sqlite3.Connection, source_name: str, target: psycopg.Connection[tuple[Any, ...]],
    resume: bool, progress: Progress, batch_rows: int = BATCH_ROWS,
) -> Summary:  # fmt: skip
    summary = Summary(source_name, resumed=resume)
    _claim_target(target, source_name, resume)
    total = sum(summary_rows(source, table) for table in TABLES)
    progress.phase("copy", total, "rows")
    for table in TABLES:
        _copy_table(source, target, table, progress, batch_rows)
    _move_sequences(target)
    summary.left_behind = {t: _one(source, f"SELECT COUNT(*) FROM {t}") for t in LEFT_BEHIND}
    verify(source, target, summary, progress)
    return summary


def _claim_target(target: psycopg.Connection[tuple[Any, ...]], source: str, resume: bool) -> None:
    with target.transaction():
        had_progress = _exists(target, "og_migration")
        target.execute(_PROGRESS)
        rows = {t.name: _target_count(target, t.name) for t in TABLES}
        filled = sorted(name for name, count in rows.items() if count)
        if not resume and (filled or had_progress):
            what = ", ".join(filled) or "the progress of an earlier migration"
            raise MigrationError(f"the target database is not empty ({what}): migrate into "
                                 "a new database, or --resume a migration")  # fmt: skip
        if resume and filled and not had_progress:
            raise MigrationError("the target holds data that no migration copied "
                                 f"({', '.join(filled)}): refusing to resume into it")  # fmt: skip
        cur = target.execute("SELECT DISTINCT source FROM og_migration")
        sources = {str(r[0]) for r in cur.fetchall()}
        if sources - {source}:
            raise MigrationError(f"the target is a migration from {', '.join(sorted(sources))}, "
                                 f"not from {source}")  # fmt: skip
        for table in TABLES:
            target.execute("INSERT INTO og_migration (tbl, source) VALUES (%s, %s)"
                           " ON CONFLICT (tbl) DO NOTHING", (table.name, source))  # fmt: skip


def _copy_table(
    source: sqlite3.Connection, target: psycopg.Connection[tuple[Any, ...]], table: Table,
    progress: Progress, batch_rows: int,
) -> None:  # fmt: skip
    row = target.execute(
        "SELECT after, copied, done FROM og_migration WHERE tbl = %s", (table.name,)
    ).fetchone()
    assert row is not None, "claimed above"
    after: list[Any] | None = json.loads(row[0]) if row[0] else None
    progress.advance(int(row[1]))
    if row[2]:
        return
    width = len(table.key)
    while True:
        batch = _source_batch(source, table, after, batch_rows)
        with target.transaction():
            copied, last = _copy_batch(target, table, batch, width)
            if copied:
                after = list(last)
            target.execute(
                "UPDATE og_migration SET after = %s, copied = copied + %s, done = %s"
                " WHERE tbl = %s",
                (json.dumps(after) if after else None, copied, copied < batch_rows, table.name),
            )
        progress.advance(copied)
        if copied < batch_rows:
            return


def _source_batch(
    source: sqlite3.Connection, table: Table, after: Sequence[Any] | None, limit: int
) -> Iterator[Sequence[Any]]:
    keys = ", ".join(table.key)
    where, args = "", ()
    if after is not None:
        marks = ", ".join("?" for _ in table.key)
        where, args = f"WHERE ({keys}) > ({marks})", tuple(after)
    cur = source.execute(f"SELECT {table.source_select()} FROM {table.name} {where}"
                         f" ORDER BY {keys} LIMIT {int(limit)}", args)  # fmt: skip
    try:
        yield from cur  # streamed: inline bodies are never all in memory at once
    finally:
        cur.close()


def _copy_batch(
    target: psycopg.Connection[tuple[Any, ...]], table: Table,
    rows: Iterator[Sequence[Any]], width: int,
) -> tuple[int, Sequence[Any]]:  # fmt: skip
    copied, last = 0, ()
    positions = [table.columns.index(k) for k in table.key]
    with (
        target.cursor() as cur,
        cur.copy(f"COPY {table.name} ({table.target_select()}) FROM STDIN".encode()) as copy,
    ):
        for row in rows:
            copy.write_row(row)
            copied += 1
            last = tuple(row[p] for p in positions)
    assert len(last) in (0, width)
    return copied, last


def _move_sequences(target: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Ids were copied as they were: the next generated id must come after them."""
    with target.transaction():
        for name in IDENTITY_TABLES:
            target.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'),"
                f" COALESCE((SELECT max(id) FROM {name}), 0) + 1, false)".encode()
            )


def verify(
    source: sqlite3.Connection, target: psycopg.Connection[tuple[Any, ...]], summary: Summary,
    progress: Progress,
) -> None:  # fmt: skip
    """Counts and SHA-256 of every table on both sides, in key order; per bucket, the
    count and digest of its key list (what a listing would show)."""
    names = dict(source.execute("SELECT id, name FROM buckets").fetchall())
    progress.phase("verify", sum(summary_rows(source, table) for table in TABLES), "rows")
    for table in TABLES:
        keys = ", ".join(table.key)
        per_bucket = table.name == "objects"
        mine = TableDigest(per_bucket).add_all(
            _counted(
                source.execute(f"SELECT {table.source_select()} FROM {table.name} ORDER BY {keys}"),
                progress,
            )
        )
        with target.transaction(), target.cursor(name=f"verify_{table.name}") as cur:
            cur.itersize = 1000
            cur.execute(f"SELECT {table.target_select()} FROM {table.name}"
                        f" ORDER BY {keys}".encode())  # fmt: skip
            theirs = TableDigest(per_bucket).add_all(cur)
        summary.tables[table.name] = {"rows": mine.rows, "sha256": mine.hexdigest(),
                                      "verified": mine.hexdigest() == theirs.hexdigest()
                                      and mine.rows == theirs.rows}  # fmt: skip
        if not summary.tables[table.name]["verified"]:
            summary.problems.append(f"{table.name}: {mine.rows} rows in the source, "
                                    f"{theirs.rows} in the target, or contents differ")  # fmt: skip
        if per_bucket:
            _compare_buckets(mine, theirs, names, summary)


def _compare_buckets(
    mine: TableDigest, theirs: TableDigest, names: dict[int, str], summary: Summary
) -> None:
    for bucket_id in sorted(set(mine.buckets) | set(theirs.buckets)):
        name = names.get(bucket_id, f"#{bucket_id}")
        count, digest = mine.buckets.get(bucket_id, (0, ""))
        same = theirs.buckets.get(bucket_id) == (count, digest)
        summary.buckets[name] = {"keys": count, "keys_sha256": digest, "verified": same}
        if not same:
            summary.problems.append(f"bucket {name}: its key list differs in the target")


def summary_rows(source: sqlite3.Connection, table: Table) -> int:
    return _one(source, f"SELECT COUNT(*) FROM {table.name}")


def _counted(rows: Iterator[Sequence[Any]], progress: Progress) -> Iterator[Sequence[Any]]:
    n = 0
    for n, row in enumerate(rows, 1):
        yield row
        if n % 1000 == 0:
            progress.advance(1000)
    progress.advance(n % 1000)


def _one(source: sqlite3.Connection, sql: str) -> int:
    return int(source.execute(sql).fetchone()[0])


def _exists(target: psycopg.Connection[tuple[Any, ...]], table: str) -> bool:
    row = target.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def _target_count(target: psycopg.Connection[tuple[Any, ...]], table: str) -> int:
    row = target.execute(f"SELECT EXISTS (SELECT 1 FROM {table})".encode()).fetchone()
    return 1 if row and row[0] else 0
