"""The pure parts of the migration commands: the per-table digests that verify a copy,
the enumeration of the blobs a metadata store names, the --from/--meta paths."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from oortgate import migrate_blobs
from oortgate.meta.sqlite_db import Database
from oortgate.migrate_blobs import count_referenced, referenced, sqlite_query
from oortgate.migrate_cli import sqlite_file
from oortgate.migrate_meta import MigrationError
from oortgate.migrate_tables import LEFT_BEHIND, TABLES, TableDigest


def test_digest_sees_sqlite_and_postgresql_rows_alike() -> None:
    lite = TableDigest().add_all([(1, "k", 1, b"\x00data"), (2, "l", 0, None)])
    pg = TableDigest().add_all([(1, "k", True, memoryview(b"\x00data")), (2, "l", False, None)])
    assert (lite.rows, lite.hexdigest()) == (pg.rows, pg.hexdigest())


def test_digest_tells_a_changed_missing_or_reordered_row() -> None:
    rows = [(1, "a", 1.5), (1, "b", 2.0)]
    base = TableDigest().add_all(rows).hexdigest()
    assert TableDigest().add_all([(1, "a", 1.5), (1, "b", 2.0000001)]).hexdigest() != base
    assert TableDigest().add_all(rows[:1]).hexdigest() != base
    assert TableDigest().add_all(rows[::-1]).hexdigest() != base


def test_digest_per_bucket_key_lists() -> None:
    mine = TableDigest(per_bucket=True).add_all([(1, "a", 0), (1, "b", 0), (2, "a", 0)])
    theirs = TableDigest(per_bucket=True).add_all([(1, "a", 0), (2, "a", 0)])
    assert mine.buckets[1][0] == 2 and theirs.buckets[1][0] == 1
    assert mine.buckets[2] == theirs.buckets[2]


def test_every_table_is_copied_in_key_order_with_its_key_columns() -> None:
    for table in TABLES:
        assert set(table.key) <= set(table.columns), table.name
    names = [t.name for t in TABLES]
    assert names.index("users") < names.index("access_keys") < names.index("buckets")
    assert names.index("buckets") < names.index("objects") < names.index("uploads")


def test_every_column_of_the_schema_is_copied_or_left_behind_on_purpose(tmp_path: Path) -> None:
    """A column or table a later schema version adds must be named here, or the
    migration would drop it without a word (its verification compares only what it
    copies)."""
    Database(tmp_path / "meta.sqlite3").close()
    conn = sqlite3.connect(tmp_path / "meta.sqlite3")
    try:
        tables = {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite_%'")}  # fmt: skip
        copied = {t.name: set(t.columns) for t in TABLES}
        assert tables == set(copied) | set(LEFT_BEHIND)
        for name, columns in copied.items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({name})")}
            assert found == columns, name
    finally:
        conn.close()


def _metadata() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.executescript("""
        CREATE TABLE objects (blob_id TEXT, size INTEGER, crc64 TEXT, parts_count INTEGER);
        CREATE TABLE object_parts (blob_id TEXT, size INTEGER, crc64 TEXT);
        CREATE TABLE upload_parts (blob_id TEXT, size INTEGER, crc64 TEXT);
        CREATE TABLE object_versions (blob_id TEXT, size INTEGER, crc64 TEXT,
            parts_count INTEGER);
        CREATE TABLE object_version_parts (blob_id TEXT, size INTEGER, crc64 TEXT);
    """)
    hexes = [f"{n:032x}" for n in range(7)]
    conn.executemany("INSERT INTO objects VALUES (?, ?, ?, 0)", [
        (hexes[0], 1, None), (hexes[1], 2, "c1"), ("i" + hexes[2], 3, "in"), (hexes[0], 1, "c0"),
        ("a-" + hexes[3], 4, "c3")])  # fmt: skip
    conn.execute("INSERT INTO objects VALUES ('', 9, NULL, 2)")  # a multipart object's row
    conn.executemany("INSERT INTO object_parts VALUES (?, ?, ?)",
                     [(hexes[4], 5, "c4"), (hexes[1], 2, "c1")])  # fmt: skip
    conn.execute("INSERT INTO upload_parts VALUES (?, 6, 'c5')", (hexes[5] + "z",))
    return conn


def test_each_named_blob_once_with_its_crc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(migrate_blobs, "_PAGE", 2)  # pages end inside a run of one id
    query = sqlite_query(_metadata())
    refs = list(referenced(query))
    ids = [r.blob_id for r in refs]
    assert ids == sorted(set(ids)) and len(ids) == 4
    assert ids[-1].endswith("z") and not any(i.startswith(("i", "a-")) for i in ids)
    assert count_referenced(query) == 4
    archive = list(referenced(query, "archive"))
    assert [(r.blob_id, r.size, r.crc64) for r in archive] == [(f"{3:032x}", 4, "c3")]
    assert count_referenced(query, "archive") == 1


def test_a_crc_is_kept_when_another_row_of_the_blob_has_none() -> None:
    refs = {r.blob_id: r for r in referenced(sqlite_query(_metadata()))}
    assert refs[f"{0:032x}"].crc64 == "c0"


def test_sqlite_sources(tmp_path: Path) -> None:
    db = tmp_path / "meta.sqlite3"
    db.write_bytes(b"")
    assert sqlite_file(str(tmp_path)) == db
    assert sqlite_file(f"sqlite://{db}") == db
    with pytest.raises(MigrationError, match="no SQLite metadata"):
        sqlite_file(str(tmp_path / "missing"))
    with pytest.raises(MigrationError, match="absolute"):
        sqlite_file("sqlite://host/x")
    (tmp_path / "metadata-in-postgresql").write_text("")
    with pytest.raises(MigrationError, match="already"):
        sqlite_file(str(tmp_path))
