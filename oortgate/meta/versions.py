"""Object versions, written once for both metadata stores.

DESIGN. ``objects`` keeps each key's current version and nothing else (its
``version_id`` '' is the null version, the one an unversioned bucket knows): a read, a
plain listing and every write to an unversioned bucket cost exactly what they did, however
many old versions a key has. ``object_versions`` holds the noncurrent versions and the
delete markers, keyed (bucket_id, key, seq): ``seq`` falls by one per version a key
gains, so an index walk gives a key's versions newest first; a unique index finds one by
its id. Invariant: a key with an ``objects`` row has that row as its latest version;
without one, its newest ``object_versions`` row (if any) is a delete marker (the one a
GET answers 404 with). A version's blobs keep the references they had as current: moving
a row between the tables moves its references; removing a version releases them, in the
same transaction.

Each operation is a generator of steps (see oortgate.meta.sql_steps) that a store drives
inside one of its write (or read) transactions; listings are in
oortgate.meta.version_listing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from oortgate.meta import body_rows
from oortgate.meta.body_rows import is_inline_ref
from oortgate.meta.models import ObjectRecord, Segment
from oortgate.meta.sql_steps import KEY, Release, Row, Steps, query
from oortgate.meta.sqlite_db import nullable_loads

# What objects and object_versions rows share (in this order).
BODY_COLS = (
    "blob_id, size, etag, last_modified, content_type, system_headers, user_metadata,"
    " checksums, storage_class, parts_count, acl, owner_id, restore_ready, restore_expiry,"
    " tags, crc64"
)
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def new_version_id() -> str:
    """Opaque, URL-safe, and newer ids sort first: 13 base-36 digits of the time left
    until 2**64 ns (fixed width), then 10 random ones."""
    left = 2**64 - time.time_ns()
    rand = int.from_bytes(os.urandom(8), "big")
    return _base36(left, 13) + _base36(rand, 10)[-10:]


def _base36(n: int, width: int) -> str:
    out = []
    while n:
        n, digit = divmod(n, 36)
        out.append(_ALPHABET[digit])
    return "".join(reversed(out)).rjust(width, "0")


def _next_seq(bucket_id: int, key: str) -> Steps[int]:
    rows = yield from query(f"SELECT COALESCE(MIN(seq), 0) - 1 FROM object_versions WHERE {KEY}",
                            bucket_id, key)  # fmt: skip
    return int(rows[0][0])


def _reference(blob_id: str) -> Steps[None]:
    """One more reference to a blob a row already references (so its count is >= 1; a
    count row missing, as after damage, starts at the two references there now are)."""
    if is_inline_ref(blob_id):
        yield from query("UPDATE inline_blobs SET refs = refs + 1 WHERE blob_id = ?", blob_id)
    elif blob_id:
        yield from query("INSERT INTO blobs (blob_id, refs) VALUES (?, 2) ON CONFLICT (blob_id)"
                         " DO UPDATE SET refs = blobs.refs + 1", blob_id)  # fmt: skip


def _current_blobs(bucket_id: int, key: str) -> Steps[tuple[bool, list[str]]]:
    """(whether the key has a current version, the blob ids it references)."""
    rows = yield from query(f"SELECT blob_id, parts_count FROM objects WHERE {KEY}", bucket_id, key)
    if not rows:
        return False, []
    blob_id, parts_count = rows[0]
    if not parts_count:
        return True, [blob_id] if blob_id else []
    parts = yield from query(f"SELECT blob_id FROM object_parts WHERE {KEY}", bucket_id, key)
    return True, [p[0] for p in parts]


def _archive_current(bucket_id: int, key: str) -> Steps[None]:
    """Copy the current version into object_versions as the newest noncurrent one; its
    blobs gain the copy's references (the caller then removes the current row, which
    releases the old ones)."""
    found, blob_ids = yield from _current_blobs(bucket_id, key)
    if not found:
        return
    seq = yield from _next_seq(bucket_id, key)
    yield from query(f"INSERT INTO object_versions (bucket_id, key, seq, version_id, marker,"
                     f" {BODY_COLS}) SELECT bucket_id, key, ?, version_id, 0, {BODY_COLS}"
                     f" FROM objects WHERE {KEY}", seq, bucket_id, key)  # fmt: skip
    yield from query("INSERT INTO object_version_parts (bucket_id, key, seq, idx, blob_id, size,"
                     " part_number, checksum, crc64) SELECT bucket_id, key, ?, idx, blob_id, size,"
                     " COALESCE(part_number, idx + 1), checksum, crc64 FROM object_parts"
                     f" WHERE {KEY}", seq, bucket_id, key)  # fmt: skip
    for blob_id in blob_ids:
        yield from _reference(blob_id)


def _remove_current(bucket_id: int, key: str) -> Steps[None]:
    """Delete the current version's rows and release its blobs."""
    found, blob_ids = yield from _current_blobs(bucket_id, key)
    if not found:
        return
    yield from query(f"DELETE FROM object_parts WHERE {KEY}", bucket_id, key)
    yield from query(f"DELETE FROM objects WHERE {KEY}", bucket_id, key)
    if blob_ids:
        yield Release(tuple(blob_ids))


def _remove_noncurrent(bucket_id: int, key: str, seq: int, blob_id: str, parts: int) -> Steps[None]:
    where = f"{KEY} AND seq = ?"
    blob_ids = [blob_id] if blob_id and not parts else []
    if parts:
        rows = yield from query(f"SELECT blob_id FROM object_version_parts WHERE {where}",
                                bucket_id, key, seq)  # fmt: skip
        blob_ids = [r[0] for r in rows]
        yield from query(f"DELETE FROM object_version_parts WHERE {where}", bucket_id, key, seq)
    yield from query(f"DELETE FROM object_versions WHERE {where}", bucket_id, key, seq)
    if blob_ids:
        yield Release(tuple(blob_ids))


def keep_history(bucket_id: int, key: str, new_id: str) -> Steps[None]:
    """Before a new current version ``new_id`` ('' the null one) is written over the
    key (by the store's ordinary replace, which releases the current row's blobs): the
    current version becomes noncurrent, unless both are null (a Suspended bucket's
    write replaces the null version); a new null version also replaces a noncurrent
    null one."""
    if new_id == "":
        rows = yield from query(f"SELECT seq, blob_id, parts_count FROM object_versions"
                                f" WHERE {KEY} AND version_id = ''", bucket_id, key)  # fmt: skip
        if rows:
            yield from _remove_noncurrent(bucket_id, key, *rows[0])
    rows = yield from query(f"SELECT version_id FROM objects WHERE {KEY}", bucket_id, key)
    if rows and not (new_id == "" and rows[0][0] == ""):
        yield from _archive_current(bucket_id, key)


def add_delete_marker(
    bucket_id: int, key: str, version_id: str, owner_id: int | None, clock: str
) -> Steps[None]:
    """DeleteObject without a version id on a versioned bucket: the key's latest version
    becomes a delete marker (``clock``: the SQL of its last_modified)."""
    yield from keep_history(bucket_id, key, version_id)
    yield from _remove_current(bucket_id, key)
    seq = yield from _next_seq(bucket_id, key)
    yield from query(f"INSERT INTO object_versions (bucket_id, key, seq, version_id, marker,"
                     f" {BODY_COLS}) VALUES (?, ?, ?, ?, 1, '', 0, '', {clock}, '', '{{}}', '{{}}',"
                     " '{}', 'STANDARD', 0, 'private', ?, NULL, NULL, NULL, NULL)",
                     bucket_id, key, seq, version_id, owner_id)  # fmt: skip


def _promote(bucket_id: int, key: str) -> Steps[None]:
    """After a version went: if the key has no current row and its newest remaining
    version is not a delete marker, that version becomes the current one."""
    if (yield from query(f"SELECT 1 FROM objects WHERE {KEY}", bucket_id, key)):
        return
    rows = yield from query(f"SELECT seq, marker FROM object_versions WHERE {KEY}"
                            " ORDER BY seq LIMIT 1", bucket_id, key)  # fmt: skip
    if not rows or rows[0][1]:
        return
    seq = rows[0][0]
    where = f"{KEY} AND seq = ?"
    yield from query(f"INSERT INTO objects (bucket_id, key, version_id, {BODY_COLS})"
                     f" SELECT bucket_id, key, version_id, {BODY_COLS} FROM object_versions"
                     f" WHERE {where}", bucket_id, key, seq)  # fmt: skip
    yield from query("INSERT INTO object_parts (bucket_id, key, idx, blob_id, size, part_number,"
                     " checksum, crc64) SELECT bucket_id, key, idx, blob_id, size, part_number,"
                     f" checksum, crc64 FROM object_version_parts WHERE {where}",
                     bucket_id, key, seq)  # fmt: skip
    yield from query(f"DELETE FROM object_version_parts WHERE {where}", bucket_id, key, seq)
    yield from query(f"DELETE FROM object_versions WHERE {where}", bucket_id, key, seq)


def delete_version(bucket_id: int, key: str, version_id: str) -> Steps[bool | None]:
    """Remove one version or delete marker for good; returns None if there is no such
    version, else whether it was a delete marker. The next newest version becomes
    current if the latest went."""
    rows = yield from query(f"SELECT version_id FROM objects WHERE {KEY}", bucket_id, key)
    if rows and rows[0][0] == version_id:
        yield from _remove_current(bucket_id, key)
        marker = False
    else:
        rows = yield from query(f"SELECT seq, blob_id, parts_count, marker FROM object_versions"
                                f" WHERE {KEY} AND version_id = ?",
                                bucket_id, key, version_id)  # fmt: skip
        if not rows:
            return None
        seq, blob_id, parts, marker_flag = rows[0]
        yield from _remove_noncurrent(bucket_id, key, seq, blob_id, parts)
        marker = bool(marker_flag)
    yield from _promote(bucket_id, key)
    return marker


def _record(
    bucket_id: int, key: str, row: Row, version_id: str, marker: bool,
    inline: bytes | None = None, parts: Sequence[Segment] = (),
) -> ObjectRecord:  # fmt: skip
    (blob_id, size, etag, modified, ctype, headers, meta, sums, cls, count, acl, owner,
     ready, expiry, tags, crc64) = row  # fmt: skip
    body = None if marker else body_rows.loaded(blob_id, int(size), count, crc64, inline, parts)
    docs = (nullable_loads(headers), nullable_loads(meta), nullable_loads(sums))
    return ObjectRecord(
        bucket_id, key, body, int(size), etag, modified, ctype, *docs, cls, acl,
        None if owner is None else int(owner), ready, expiry, nullable_loads(tags),
        version_id, marker,
    )  # fmt: skip


def _loaded(bucket_id: int, key: str, row: Row, version_id: str, marker: bool,
            parts_sql: str, parts_args: tuple[Any, ...]) -> Steps[ObjectRecord]:  # fmt: skip
    blob_id, count = row[0], row[9]
    inline = None
    parts: list[Segment] = []
    if count:
        rows = yield from query(parts_sql, *parts_args)
        parts = [Segment(b, int(s), n, c, x) for b, s, n, c, x in rows]
    elif is_inline_ref(blob_id):
        data = yield from query("SELECT data FROM inline_blobs WHERE blob_id = ?", blob_id)
        inline = bytes(data[0][0]) if data else None
    return _record(bucket_id, key, row, version_id, marker, inline, parts)


def get_version(bucket_id: int, key: str, version_id: str) -> Steps[ObjectRecord | None]:
    """The version (or delete marker) ``version_id`` of the key, with its body."""
    rows = yield from query(f"SELECT {BODY_COLS} FROM objects WHERE {KEY} AND version_id = ?",
                            bucket_id, key, version_id)  # fmt: skip
    if rows:
        sql = ("SELECT blob_id, size, COALESCE(part_number, idx + 1), checksum, crc64"
               f" FROM object_parts WHERE {KEY} ORDER BY idx")  # fmt: skip
        return (yield from _loaded(bucket_id, key, rows[0], version_id, False, sql,
                                   (bucket_id, key)))  # fmt: skip
    rows = yield from query(f"SELECT {BODY_COLS}, seq, marker FROM object_versions"
                            f" WHERE {KEY} AND version_id = ?",
                            bucket_id, key, version_id)  # fmt: skip
    if not rows:
        return None
    return (yield from _noncurrent(bucket_id, key, rows[0], version_id))


def _noncurrent(bucket_id: int, key: str, row: Row, version_id: str) -> Steps[ObjectRecord]:
    sql = ("SELECT blob_id, size, part_number, checksum, crc64 FROM object_version_parts"
           f" WHERE {KEY} AND seq = ? ORDER BY idx")  # fmt: skip
    return (yield from _loaded(bucket_id, key, row[:16], version_id, bool(row[17]), sql,
                               (bucket_id, key, row[16])))  # fmt: skip


def current_delete_marker(bucket_id: int, key: str) -> Steps[ObjectRecord | None]:
    """The key's latest version if it is a delete marker (None: it has a current
    version, or no version at all)."""
    if (yield from query(f"SELECT 1 FROM objects WHERE {KEY}", bucket_id, key)):
        return None
    rows = yield from query(f"SELECT {BODY_COLS}, seq, marker, version_id FROM object_versions"
                            f" WHERE {KEY} ORDER BY seq LIMIT 1", bucket_id, key)  # fmt: skip
    if not rows or not rows[0][17]:
        return None
    return _record(bucket_id, key, rows[0][:16], rows[0][18], True)


def set_column(
    bucket_id: int, key: str, version_id: str, column: str, value: str | None
) -> Steps[bool]:
    """Set acl or tags of one version (False: no such version, or a delete marker)."""
    assert column in ("acl", "tags")
    for table in ("objects", "object_versions"):
        marker = " AND marker = 0" if table == "object_versions" else ""
        rows = yield from query(f"UPDATE {table} SET {column} = ? WHERE {KEY} AND version_id = ?"
                                f"{marker} RETURNING 1",
                                value, bucket_id, key, version_id)  # fmt: skip
        if rows:
            return True
    return False
