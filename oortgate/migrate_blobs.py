"""`oortgate admin migrate-blobs`: every blob the metadata store names, copied from one
blob store to another under the same id, streamed (memory: one chunk), then verified.

A blob already in the target with the expected size and CRC-64 is skipped, so a rerun
after an interruption continues (a blob cut off mid-copy was never committed: the
target's temp files are the sweep's). Each copied blob is read back from the target and
its CRC compared. The source is never changed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from oortgate import integrity
from oortgate.endpoints import ARCHIVE, STANDARD
from oortgate.meta.sqlite_schema import FILE_BLOB
from oortgate.migrate_meta import Progress
from oortgate.storage.base import BlobDamaged, BlobNotFound, BlobStore
from oortgate.storage.tiered import ARCHIVE_PREFIX

CHUNK = 1 << 20
_PAGE = 1000
# A function running one query (with ``{p}`` where its placeholders go) on the store.
Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class BlobRef:
    blob_id: str
    size: int
    crc64: str | None  # None: named only by rows written before the integrity check


@dataclass
class BlobSummary:
    blobs: int = 0
    copied: int = 0
    skipped: int = 0
    bytes_copied: int = 0
    problems: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"blobs": self.blobs, "copied": self.copied, "skipped": self.skipped,
                "bytes_copied": self.bytes_copied, "verified": not self.problems,
                "problems": self.problems}  # fmt: skip


def sqlite_query(conn: sqlite3.Connection) -> Query:
    return lambda sql, args: conn.execute(sql.format(p="?"), tuple(args)).fetchall()


def pg_query(conn: psycopg.Connection[tuple[Any, ...]]) -> Query:
    return lambda sql, args: conn.execute(sql.format(p="%s").encode(), tuple(args)).fetchall()


_REFS = f"""
SELECT blob_id, size, crc64 FROM objects WHERE parts_count = 0 AND {FILE_BLOB} AND blob_id > {{p}}
UNION ALL SELECT blob_id, size, crc64 FROM object_parts WHERE {FILE_BLOB} AND blob_id > {{p}}
UNION ALL SELECT blob_id, size, crc64 FROM upload_parts WHERE {FILE_BLOB} AND blob_id > {{p}}
UNION ALL SELECT blob_id, size, crc64 FROM object_versions WHERE parts_count = 0 AND {FILE_BLOB}
    AND blob_id > {{p}}
UNION ALL SELECT blob_id, size, crc64 FROM object_version_parts WHERE {FILE_BLOB}
    AND blob_id > {{p}}
ORDER BY 1 LIMIT {_PAGE}
"""
_COUNT = f"""
SELECT COUNT(*) FROM (SELECT blob_id FROM objects WHERE parts_count = 0 AND {FILE_BLOB}
UNION SELECT blob_id FROM object_parts WHERE {FILE_BLOB}
UNION SELECT blob_id FROM upload_parts WHERE {FILE_BLOB}
UNION SELECT blob_id FROM object_versions WHERE parts_count = 0 AND {FILE_BLOB}
UNION SELECT blob_id FROM object_version_parts WHERE {FILE_BLOB}) AS named
"""


def referenced(query: Query, tier: str = STANDARD) -> Iterator[BlobRef]:
    """Each blob of ``tier`` the metadata names, once, in id order, a page at a time, by
    the id its tier's store knows it by (see storage.tiered: archive ids carry a prefix
    when the Archive tier has a store of its own)."""
    after = ""
    while True:
        rows = query(_REFS, (after,) * 5)
        merged: dict[str, BlobRef] = {}
        for blob_id, size, crc64 in rows:
            known = merged.get(blob_id)
            if known is None or (known.crc64 is None and crc64 is not None):
                merged[blob_id] = BlobRef(str(blob_id), int(size), crc64)
        for ref in merged.values():
            if ref.blob_id.startswith(ARCHIVE_PREFIX) == (tier == ARCHIVE):
                yield BlobRef(ref.blob_id.removeprefix(ARCHIVE_PREFIX), ref.size, ref.crc64)
        if len(rows) < _PAGE:
            return
        after = str(rows[-1][0])


def count_referenced(query: Query, tier: str = STANDARD) -> int:
    archive = f"substr(blob_id, 1, {len(ARCHIVE_PREFIX)}) = '{ARCHIVE_PREFIX}'"
    where = archive if tier == ARCHIVE else f"NOT ({archive})"
    return int(query(f"{_COUNT} WHERE {where}", ())[0][0])


async def migrate_blobs(
    refs: Iterator[BlobRef], source: BlobStore, target: BlobStore, progress: Progress
) -> BlobSummary:
    summary = BlobSummary()
    for ref in refs:
        summary.blobs += 1
        try:
            await _transfer(ref, source, target, summary)
        except (BlobNotFound, BlobDamaged, OSError) as exc:
            summary.problems.append(f"blob {ref.blob_id}: {type(exc).__name__}: {exc}")
            progress.say(summary.problems[-1])
        progress.advance(1)
    return summary


async def _transfer(ref: BlobRef, source: BlobStore, target: BlobStore,
                    summary: BlobSummary) -> None:  # fmt: skip
    expected = ref.crc64 or await _crc(await source.read(ref.blob_id, 0, ref.size, CHUNK))
    if await _present(target, ref, expected):
        summary.skipped += 1
        return
    crc = integrity.Crc64()
    writer = await target.open_writer(ref.blob_id)
    try:
        seen = 0
        async for chunk in await source.read(ref.blob_id, 0, ref.size, CHUNK):
            crc.update(chunk)
            seen += len(chunk)
            await writer.write(chunk)
        if seen != ref.size or crc.hex() != expected:
            raise BlobDamaged(f"the source holds {seen} bytes of CRC-64 {crc.hex()}, "
                              f"the metadata says {ref.size} of {expected}")  # fmt: skip
        await writer.commit()
    except BaseException:
        await writer.abort()
        raise
    if not await _present(target, ref, expected):
        raise BlobDamaged("the copy does not read back as written")
    summary.copied += 1
    summary.bytes_copied += ref.size


async def _present(target: BlobStore, ref: BlobRef, expected: str) -> bool:
    """Whether the target holds this blob, whole and equal (read back in full)."""
    try:
        if await target.size(ref.blob_id) != ref.size:
            return False
        return await _crc(await target.read(ref.blob_id, 0, ref.size, CHUNK)) == expected
    except (BlobNotFound, FileNotFoundError):
        return False
    except BlobDamaged:
        return False


async def _crc(chunks: AsyncIterator[bytes]) -> str:
    crc = integrity.Crc64()
    async for chunk in chunks:
        crc.update(chunk)
    return crc.hex()
