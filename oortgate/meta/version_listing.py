"""ListObjectVersions, written once for both metadata stores (steps as in
oortgate.meta.sql_steps): two index walks, the current versions in ``objects`` and the
older ones and delete markers in ``object_versions``, merged in key order, newest
first (see oortgate.meta.versions for the tables)."""

from __future__ import annotations

from dataclasses import dataclass

from oortgate.errors import INVALID_ARGUMENT, S3Error
from oortgate.meta.models import ObjectRecord, VersionPage
from oortgate.meta.sql_steps import KEY, Row, Steps, query
from oortgate.meta.sqlite_db import nullable_loads, successor

# Below and above every seq a key's versions get (they count down from -1).
_FIRST, _LAST = -(2**62), 2**62
_LISTED_CURRENT = ("SELECT key, version_id, size, etag, last_modified, storage_class, owner_id,"
                   " checksums FROM objects WHERE bucket_id = ? AND key {op} ?")  # fmt: skip
_LISTED_VERSIONS = ("SELECT key, version_id, size, etag, last_modified, storage_class,"
                    " owner_id, checksums, seq, marker FROM object_versions"
                    " WHERE bucket_id = ? AND (key, seq) > (?, ?)")  # fmt: skip


@dataclass(slots=True)
class _Cursor:
    """Where each stream goes on: objects rows with keys > (>=) okey; versions rows
    after (vkey, vseq)."""

    okey: str
    oinclusive: bool
    vkey: str
    vseq: int

    @classmethod
    def at(cls, key: str, inclusive: bool) -> _Cursor:
        return cls(key, inclusive, key, _FIRST if inclusive else _LAST)


def _listed(bucket_id: int, row: Row, marker: bool) -> ObjectRecord:
    key, version_id, size, etag, modified, cls, owner, sums = row[:8]
    return ObjectRecord(bucket_id, key, None, int(size), etag, modified,
                        checksums=nullable_loads(sums), storage_class=cls,
                        owner_id=None if owner is None else int(owner),
                        version_id=version_id, delete_marker=marker)  # fmt: skip


def list_versions(
    bucket_id: int, prefix: str, delimiter: str, key_marker: str,
    version_id_marker: str | None, max_keys: int,
) -> Steps[VersionPage]:  # fmt: skip
    """Versions and delete markers of keys after key_marker (or, with a version id
    marker, the key_marker's versions older than that one first), key order then newest
    first, rolled up into common prefixes by the delimiter; one entry beyond max_keys is
    looked up, so is_truncated is never a false alarm. Raises InvalidArgument for a
    version id marker the key does not have."""
    if max_keys <= 0:
        return VersionPage([], [], False, None, None)
    upper = successor(prefix)
    previous: str | None = None  # the key of the last entry walked (None: none yet)
    if version_id_marker is not None:
        cursor = yield from _after_version(bucket_id, key_marker, version_id_marker)
        previous = key_marker
    elif key_marker >= prefix:
        cursor = _Cursor.at(key_marker, False)
    else:
        cursor = _Cursor.at(prefix, True)
    entries: list[tuple[ObjectRecord, bool] | str] = []
    need = max_keys + 1
    while len(entries) < need:
        limit = need - len(entries)
        op = ">=" if cursor.oinclusive else ">"
        bound = "" if upper is None else " AND key < ?"
        tail = () if upper is None else (upper,)
        current = yield from query(_LISTED_CURRENT.format(op=op) + bound + " ORDER BY key LIMIT ?",
                                   bucket_id, cursor.okey, *tail, limit)  # fmt: skip
        older = yield from query(_LISTED_VERSIONS + bound + " ORDER BY key, seq LIMIT ?",
                                 bucket_id, cursor.vkey, cursor.vseq, *tail, limit)  # fmt: skip
        merged = sorted([((r[0], _FIRST - 1), r, False) for r in current]
                        + [((r[0], int(r[8])), r, True) for r in older],
                        key=lambda e: e[0])  # fmt: skip
        # Rows beyond the last of a full batch may have unread rows of the other stream
        # before them: walk up to that horizon, then read on.
        ends = [(current[-1][0], _FIRST - 1)] if len(current) == limit else []
        if len(older) == limit:
            ends.append((older[-1][0], int(older[-1][8])))
        horizon = min(ends, default=None)
        rolled: str | None = None
        for position, row, noncurrent in merged:
            if horizon is not None and position > horizon:
                break
            key: str = row[0]
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                rolled = key[: cut + len(delimiter)]
                break
            latest = not noncurrent or key != previous
            entries.append((_listed(bucket_id, row, noncurrent and bool(row[9])), latest))
            previous = key
            cursor.okey, cursor.oinclusive = key, False
            if noncurrent:
                cursor.vkey, cursor.vseq = position
            else:
                cursor.vkey, cursor.vseq = key, _FIRST
            if len(entries) >= need:
                break
        if rolled is not None:
            if rolled > key_marker:  # (else its keys were listed on an earlier page)
                entries.append(rolled)
            after = successor(rolled)
            if after is None or (upper is not None and after >= upper):
                break
            cursor, previous = _Cursor.at(after, True), None
            continue
        if len(current) < limit and len(older) < limit and len(entries) < need:
            break  # both streams exhausted
    return _page(entries, max_keys)


def _after_version(bucket_id: int, key: str, version_id: str) -> Steps[_Cursor]:
    rows = yield from query(f"SELECT 1 FROM objects WHERE {KEY} AND version_id = ?",
                            bucket_id, key, version_id)  # fmt: skip
    if rows:
        return _Cursor(key, False, key, _FIRST)
    rows = yield from query(f"SELECT seq FROM object_versions WHERE {KEY} AND version_id = ?",
                            bucket_id, key, version_id)  # fmt: skip
    if not rows:
        raise S3Error(INVALID_ARGUMENT, "Invalid version id specified",
                      ArgumentName="version-id-marker",
                      ArgumentValue=version_id or "null")  # fmt: skip
    return _Cursor(key, False, key, int(rows[0][0]))


def _page(entries: list[tuple[ObjectRecord, bool] | str], max_keys: int) -> VersionPage:
    truncated = len(entries) > max_keys
    entries = entries[:max_keys]
    versions = [e for e in entries if not isinstance(e, str)]
    prefixes = [e for e in entries if isinstance(e, str)]
    next_key = next_id = None
    if truncated:
        last = entries[-1]
        if isinstance(last, str):
            next_key = last
        else:
            next_key, next_id = last[0].key, last[0].version_id
    return VersionPage(versions, prefixes, truncated, next_key, next_id)
