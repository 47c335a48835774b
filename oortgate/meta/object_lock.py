"""Object lock rows, written once for both metadata stores (steps as in
oortgate.meta.versions, driven inside the store's transaction).

``object_locks`` holds one row per locked version, keyed by its version id: a version
keeps its row while it moves between ``objects`` and ``object_versions``, and the row
goes with the version when it is deleted. The rules (as AWS): a version under an
unexpired retention or a legal hold cannot be deleted; GOVERNANCE gives way to a caller
who asks to bypass it (and may), COMPLIANCE to nobody, and neither may be shortened or
removed without that bypass (COMPLIANCE: never). Every check runs in the transaction
that deletes or changes, so a hold set meanwhile is never missed. ``clock`` is the SQL
of "now" (a literal on SQLite; the database clock on PostgreSQL).
"""

from __future__ import annotations

import json

from oortgate.errors import ACCESS_DENIED, S3Error
from oortgate.meta import versions
from oortgate.meta.models import ObjectLock
from oortgate.meta.sql_steps import Steps, query

_ROW = "bucket_id = ? AND key = ? AND version_id = ?"
COMPLIANCE = "COMPLIANCE"
GOVERNANCE = "GOVERNANCE"


def dumps(lock: ObjectLock | None) -> str | None:
    """An upload's requested lock as its row keeps it (JSON; None: none)."""
    if lock is None:
        return None
    return json.dumps({"mode": lock.mode, "until": lock.retain_until, "hold": lock.legal_hold})


def loads(text: str | None) -> ObjectLock | None:
    if text is None:
        return None
    doc = json.loads(text)
    return ObjectLock(doc["mode"], doc["until"], bool(doc["hold"]))


def write(bucket_id: int, key: str, version_id: str, lock: ObjectLock) -> Steps[None]:
    """Record a new version's lock (a put of a version id that had one replaces it)."""
    yield from query("INSERT INTO object_locks (bucket_id, key, version_id, mode, retain_until,"
                     " legal_hold) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (bucket_id, key,"
                     " version_id) DO UPDATE SET mode = excluded.mode, retain_until ="
                     " excluded.retain_until, legal_hold = excluded.legal_hold",
                     bucket_id, key, version_id, lock.mode, lock.retain_until,
                     int(lock.legal_hold))  # fmt: skip


def read(bucket_id: int, key: str, version_id: str) -> Steps[ObjectLock | None]:
    rows = yield from query(f"SELECT mode, retain_until, legal_hold FROM object_locks WHERE {_ROW}",
                            bucket_id, key, version_id)  # fmt: skip
    if not rows:
        return None
    mode, until, hold = rows[0]
    return ObjectLock(mode, None if until is None else float(until), bool(hold))


def _is_version(bucket_id: int, key: str, version_id: str) -> Steps[bool]:
    """Whether the key has that version (a delete marker is none: it cannot be locked)."""
    if (yield from query(f"SELECT 1 FROM objects WHERE {_ROW}", bucket_id, key, version_id)):
        return True
    rows = yield from query(f"SELECT 1 FROM object_versions WHERE {_ROW} AND marker = 0",
                            bucket_id, key, version_id)  # fmt: skip
    return bool(rows)


def _retained(
    bucket_id: int, key: str, version_id: str, clock: str
) -> Steps[tuple[str | None, bool]]:
    """(the mode of its unexpired retention or None, whether it is under a legal hold)."""
    rows = yield from query(f"SELECT CASE WHEN retain_until > {clock} THEN mode END, legal_hold"
                            f" FROM object_locks WHERE {_ROW}",
                            bucket_id, key, version_id)  # fmt: skip
    if not rows:
        return None, False
    return rows[0][0], bool(rows[0][1])


def guarded_delete(
    bucket_id: int, key: str, version_id: str, bypass: bool, clock: str
) -> Steps[bool | None]:
    """versions.delete_version, refused (AccessDenied, nothing changed) while the version
    is held or retained (GOVERNANCE: unless ``bypass``); its lock row goes with it."""
    mode, held = yield from _retained(bucket_id, key, version_id, clock)
    if held or mode == COMPLIANCE or (mode == GOVERNANCE and not bypass):
        raise S3Error(ACCESS_DENIED, "Access Denied because object protected by object lock.")
    result = yield from versions.delete_version(bucket_id, key, version_id)
    if result is not None:
        yield from query(f"DELETE FROM object_locks WHERE {_ROW}", bucket_id, key, version_id)
    return result


def set_retention(
    bucket_id: int, key: str, version_id: str, mode: str | None, until: float | None,
    bypass: bool, clock: str,
) -> Steps[bool]:  # fmt: skip
    """PutObjectRetention (mode None: remove it); False if there is no such version.
    Shortening, weakening or removing an unexpired retention is AccessDenied: for
    COMPLIANCE always, for GOVERNANCE unless ``bypass``."""
    if not (yield from _is_version(bucket_id, key, version_id)):
        return False
    rows = yield from query(f"SELECT mode, retain_until, retain_until > {clock} FROM object_locks"
                            f" WHERE {_ROW}", bucket_id, key, version_id)  # fmt: skip
    if rows and rows[0][0] is not None and rows[0][2]:
        old_mode, old_until = rows[0][0], float(rows[0][1])
        weaker = (
            mode is None or until is None or until < old_until
            or (old_mode == COMPLIANCE and mode != COMPLIANCE)
        )  # fmt: skip
        if weaker and (old_mode == COMPLIANCE or not bypass):
            raise S3Error(ACCESS_DENIED)
    yield from query("INSERT INTO object_locks (bucket_id, key, version_id, mode, retain_until)"
                     " VALUES (?, ?, ?, ?, ?) ON CONFLICT (bucket_id, key, version_id) DO UPDATE"
                     " SET mode = excluded.mode, retain_until = excluded.retain_until",
                     bucket_id, key, version_id, mode, until)  # fmt: skip
    return True


def set_legal_hold(bucket_id: int, key: str, version_id: str, on: bool) -> Steps[bool]:
    """PutObjectLegalHold; False if there is no such version."""
    if not (yield from _is_version(bucket_id, key, version_id)):
        return False
    yield from query("INSERT INTO object_locks (bucket_id, key, version_id, legal_hold)"
                     " VALUES (?, ?, ?, ?) ON CONFLICT (bucket_id, key, version_id) DO UPDATE"
                     " SET legal_hold = excluded.legal_hold",
                     bucket_id, key, version_id, int(on))  # fmt: skip
    return True
