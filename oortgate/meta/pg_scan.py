"""``oortgate fsck``'s walk of the PostgreSQL metadata (the MetaScan Protocol of
oortgate.meta.scan: objects, noncurrent versions, open uploads' parts), on one
autocommit connection of its own: each page is one statement
(its own snapshot: the gateways' writes go on meanwhile, no snapshot is held for the
whole walk), a multipart object's parts in the same statement. The reference-count
drift is one statement too; ``repair_reference_counts`` one transaction that locks each
blob's count row (in id order) before counting its references again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection

from oortgate.errors import StoreUnavailable
from oortgate.meta.body_rows import INLINE_MARK, is_inline_ref
from oortgate.meta.pg_db import conninfo_kwargs
from oortgate.meta.pg_schema import KNOWN_BLOBS, SCHEMA_VERSION
from oortgate.meta.scan import (
    FIRST_SEQ,
    PAGE,
    Drift,
    Entry,
    MetadataDamaged,
    MetadataUnusable,
    object_entry,
    part_entry,
)
from oortgate.meta.sqlite_schema import BLOB_TABLES

_FILE_BLOB = f"blob_id <> '' AND NOT starts_with(blob_id, '{INLINE_MARK}')"
_OBJECTS = (
    "SELECT o.bucket_id, b.name, o.key, o.blob_id, o.size, o.etag, o.checksums,"
    " o.parts_count, o.crc64, p.blobs, p.sizes, p.sums, p.crcs FROM objects o"
    " LEFT JOIN buckets b ON b.id = o.bucket_id"
    " LEFT JOIN LATERAL (SELECT array_agg(x.blob_id::text ORDER BY x.idx) AS blobs,"
    " array_agg(x.size ORDER BY x.idx) AS sizes, array_agg(x.checksum ORDER BY x.idx) AS sums,"
    " array_agg(x.crc64 ORDER BY x.idx) AS crcs FROM object_parts x"
    " WHERE o.parts_count > 0 AND x.bucket_id = o.bucket_id AND x.key = o.key) p ON true"
    " WHERE (o.bucket_id, o.key) > (%s, %s::og_name) ORDER BY o.bucket_id, o.key LIMIT %s"
)
# The noncurrent versions that have bytes (a delete marker names no blob), their parts
# (a multipart version's) in the same statement, as _OBJECTS.
_VERSIONS = (
    "SELECT o.bucket_id, b.name, o.key, o.blob_id, o.size, o.etag, o.checksums,"
    " o.parts_count, o.crc64, p.blobs, p.sizes, p.sums, p.crcs, o.seq, o.version_id"
    " FROM object_versions o LEFT JOIN buckets b ON b.id = o.bucket_id"
    " LEFT JOIN LATERAL (SELECT array_agg(x.blob_id::text ORDER BY x.idx) AS blobs,"
    " array_agg(x.size ORDER BY x.idx) AS sizes, array_agg(x.checksum ORDER BY x.idx) AS sums,"
    " array_agg(x.crc64 ORDER BY x.idx) AS crcs FROM object_version_parts x"
    " WHERE o.parts_count > 0 AND x.bucket_id = o.bucket_id AND x.key = o.key"
    " AND x.seq = o.seq) p ON true"
    " WHERE o.marker = 0 AND (o.bucket_id, o.key, o.seq) > (%s, %s::og_name, %s)"
    " ORDER BY o.bucket_id, o.key, o.seq LIMIT %s"
)
_PARTS = (
    "SELECT p.upload_id, p.part_number, p.blob_id, p.size, p.etag, p.checksum,"
    " u.checksum_algorithm, u.key, COALESCE(b.name, '#' || u.bucket_id), p.crc64"
    " FROM upload_parts p LEFT JOIN uploads u ON u.upload_id = p.upload_id"
    " LEFT JOIN buckets b ON b.id = u.bucket_id"
    " WHERE (p.upload_id, p.part_number) > (%s::og_name, %s)"
    " ORDER BY p.upload_id, p.part_number LIMIT %s"
)
# Every referencing row, once per reference (as the counts count them); see
# oortgate.meta.sqlite_refcounts for the same question on SQLite.
_REFERENCES = (
    "SELECT blob_id FROM objects WHERE parts_count = 0 AND blob_id <> ''"
    f" UNION ALL SELECT blob_id FROM object_parts WHERE {_FILE_BLOB}"
    f" UNION ALL SELECT blob_id FROM upload_parts WHERE {_FILE_BLOB}"
    " UNION ALL SELECT blob_id FROM object_versions WHERE parts_count = 0 AND blob_id <> ''"
    f" UNION ALL SELECT blob_id FROM object_version_parts WHERE {_FILE_BLOB}"
)
_DRIFT = (
    f"WITH r AS (SELECT blob_id, count(*)::integer AS n FROM ({_REFERENCES}) refs"
    " GROUP BY blob_id),"
    " c AS (SELECT blob_id, refs FROM blobs UNION ALL SELECT blob_id, refs FROM inline_blobs)"
    " SELECT COALESCE(r.blob_id, c.blob_id), COALESCE(c.refs, 0), COALESCE(r.n, 0)"
    " FROM r FULL JOIN c ON c.blob_id = r.blob_id WHERE c.refs IS DISTINCT FROM r.n ORDER BY 1"
)
_COUNT_ONE = f"SELECT count(*) FROM ({_REFERENCES}) refs WHERE blob_id = %s"


async def open_pg_scan(url: str) -> PgScan:
    """Connect (StoreUnavailable if PostgreSQL does not answer) and check the schema."""
    try:
        conn = await AsyncConnection.connect(url, **conninfo_kwargs())
    except psycopg.Error as exc:
        raise StoreUnavailable(f"PostgreSQL does not answer: {exc}") from None
    try:
        cur = await conn.execute("SELECT to_regclass('og_schema') IS NOT NULL")
        row = await cur.fetchone()
        if not (row and row[0]):
            raise MetadataUnusable("metadata_url: the database has no oortgate schema")
        cur = await conn.execute("SELECT max(version) FROM og_schema")
        row = await cur.fetchone()
        version = int(row[0]) if row and row[0] is not None else 0
        if version > SCHEMA_VERSION:
            raise MetadataUnusable(f"metadata_url: schema {version} is newer than this oortgate")
    except BaseException:
        await conn.close()
        raise
    return PgScan(conn)


class PgScan:
    def __init__(self, conn: AsyncConnection[tuple[Any, ...]]) -> None:
        self._conn = conn

    async def close(self) -> None:
        await self._conn.close()

    async def _rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            cur = await self._conn.execute(sql.encode(), args)
            return await cur.fetchall()
        except psycopg.DataError as exc:  # a value that does not decode
            raise MetadataDamaged(str(exc)) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from None

    async def integrity(self) -> list[str]:
        return []  # PostgreSQL checks its own pages (and their checksums, if enabled)

    async def totals(self) -> tuple[int, int]:
        (row,) = await self._rows(
            "SELECT (SELECT count(*) FROM objects) + (SELECT count(*) FROM upload_parts)"
            " + (SELECT count(*) FROM object_versions WHERE marker = 0),"
            " (SELECT COALESCE(sum(size), 0) FROM objects)"
            " + (SELECT COALESCE(sum(size), 0) FROM upload_parts)"
            " + (SELECT COALESCE(sum(size), 0) FROM object_versions WHERE marker = 0)"
        )
        return int(row[0]), int(row[1])

    async def objects(self) -> AsyncIterator[Entry]:
        after: tuple[int, str] = (-1, "")
        while rows := await self._rows(_OBJECTS, *after, PAGE):
            for row in rows:
                yield _object(row)
            after = (int(rows[-1][0]), rows[-1][2])

    async def versions(self) -> AsyncIterator[Entry]:
        after: tuple[int, str, int] = (-1, "", FIRST_SEQ)
        while rows := await self._rows(_VERSIONS, *after, PAGE):
            for row in rows:
                yield _object(row)
            after = (int(rows[-1][0]), rows[-1][2], int(rows[-1][13]))

    async def upload_parts(self) -> AsyncIterator[Entry]:
        after: tuple[str, int] = ("", -1)
        while rows := await self._rows(_PARTS, *after, PAGE):
            for row in rows:
                yield part_entry(row)
            after = (rows[-1][0], int(rows[-1][1]))

    async def blob_ids_now(self, entry: Entry) -> tuple[str, ...]:
        if entry.upload_id is not None:
            sql = "SELECT blob_id FROM upload_parts WHERE upload_id = %s AND part_number = %s"
            args: tuple[object, ...] = (entry.upload_id, entry.part_number)
        elif entry.version_id is not None:
            sql = ("SELECT blob_id FROM object_versions"
                   " WHERE bucket_id = %s AND key = %s AND seq = %s")  # fmt: skip
            if entry.declared_parts:
                sql = ("SELECT blob_id FROM object_version_parts"
                       " WHERE bucket_id = %s AND key = %s AND seq = %s ORDER BY idx")  # fmt: skip
            args = (entry.bucket_id, entry.key, entry.seq)
        elif entry.declared_parts:
            sql = "SELECT blob_id FROM object_parts WHERE bucket_id = %s AND key = %s ORDER BY idx"
            args = (entry.bucket_id, entry.key)
        else:
            sql = "SELECT blob_id FROM objects WHERE bucket_id = %s AND key = %s"
            args = (entry.bucket_id, entry.key)
        return tuple(row[0] for row in await self._rows(sql, *args))

    async def inline_data(self, blob_id: str) -> bytes | None:
        rows = await self._rows("SELECT data FROM inline_blobs WHERE blob_id = %s", blob_id)
        return bytes(rows[0][0]) if rows else None

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        ids = list(blob_ids)
        return {row[0] for row in await self._rows(KNOWN_BLOBS, *([ids] * len(BLOB_TABLES)))}

    async def reference_drift(self) -> list[Drift] | None:
        return [Drift(row[0], int(row[1]), int(row[2])) for row in await self._rows(_DRIFT)]

    async def repair_reference_counts(self, blob_ids: Sequence[str]) -> int:
        changed = 0
        async with self._conn.transaction():
            for blob_id in sorted(blob_ids):  # the writers' lock order: blobs by id
                changed += await self._recount(blob_id)
        return changed

    async def _recount(self, blob_id: str) -> int:
        conn = self._conn
        table = "inline_blobs" if is_inline_ref(blob_id) else "blobs"
        await conn.execute(f"SELECT 1 FROM {table} WHERE blob_id = %s FOR UPDATE".encode(),
                           (blob_id,))  # fmt: skip
        cur = await conn.execute(_COUNT_ONE.encode(), (blob_id,))
        row = await cur.fetchone()
        real = int(row[0]) if row else 0
        if is_inline_ref(blob_id):
            if real:
                sql = "UPDATE inline_blobs SET refs = %s WHERE blob_id = %s AND refs <> %s"
                return (await conn.execute(sql, (real, blob_id, real))).rowcount
            sql = "DELETE FROM inline_blobs WHERE blob_id = %s"
            return (await conn.execute(sql, (blob_id,))).rowcount
        if real:
            cur = await conn.execute(
                "INSERT INTO blobs (blob_id, refs) VALUES (%s, %s) ON CONFLICT (blob_id)"
                " DO UPDATE SET refs = EXCLUDED.refs WHERE blobs.refs <> EXCLUDED.refs",
                (blob_id, real),
            )
            await conn.execute("DELETE FROM garbage WHERE blob_id = %s", (blob_id,))
            return cur.rowcount
        cur = await conn.execute("DELETE FROM blobs WHERE blob_id = %s", (blob_id,))
        if cur.rowcount:
            await conn.execute(
                "INSERT INTO garbage (blob_id, queued_at) VALUES (%s, og_now())"
                " ON CONFLICT DO NOTHING",
                (blob_id,),
            )
        return cur.rowcount


def _object(row: Sequence[Any]) -> Entry:
    """An _OBJECTS row, or a _VERSIONS one (with its seq and version id after)."""
    parts = zip(*row[9:13], strict=True) if row[9] is not None else ()
    version = (int(row[13]), str(row[14])) if len(row) > 13 else None
    return object_entry(row, parts, version)
