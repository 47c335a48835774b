"""Sessions on SQLite: one row per writing worker process, and its heartbeat.

Whether a session is dead is decided by the caller (``oortgate.sessions``): the store only
records them and ends those it is told to, turning their pending blobs into garbage.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Sequence

from oortgate.meta.models import Session
from oortgate.meta.sqlite_db import Database

_COLS = "session_id, host, pid, started, heartbeat"


class SessionsStore(Database):
    @property
    def session_id(self) -> str | None:
        return self._session

    def open_session(self, host: str, pid: int) -> str:
        """Register a session; this store's pending blobs are marked with it from now on."""
        session_id, now = secrets.token_hex(8), time.time()
        with self._write() as db:
            db.execute(
                f"INSERT INTO sessions ({_COLS}) VALUES (?, ?, ?, ?, ?)",
                (session_id, host, pid, now, now),
            )
        self._session = session_id
        return session_id

    def heartbeat(self) -> bool:
        """Refresh this store's session; False if it has none or it was ended (declared
        dead by someone: its pending blobs are garbage now)."""
        if self._session is None:
            return False
        sql = "UPDATE sessions SET heartbeat = ? WHERE session_id = ?"
        with self._write() as db:
            return db.execute(sql, (time.time(), self._session)).rowcount > 0

    def list_sessions(self) -> list[Session]:
        rows = self._conn.execute(f"SELECT {_COLS} FROM sessions ORDER BY started")
        return [Session(*row) for row in rows]

    def end_sessions(self, session_ids: Sequence[str]) -> int:
        """End these sessions: their pending blobs become garbage and their rows go, in
        one transaction. Returns how many pending blobs that was."""
        moved = 0
        with self._write() as db:
            for session_id in session_ids:
                db.execute(
                    "INSERT OR IGNORE INTO garbage (blob_id)"
                    " SELECT blob_id FROM pending_blobs WHERE session_id = ?",
                    (session_id,),
                )
                cur = db.execute("DELETE FROM pending_blobs WHERE session_id = ?", (session_id,))
                moved += cur.rowcount
                db.execute("DELETE FROM read_leases WHERE session_id = ?", (session_id,))
                db.execute("DELETE FROM sessions WHERE session_id = ?", (session_id,))
        if self._session in session_ids:
            self._session = None
        return moved

    # -- read leases (see MetaStore.lease_blobs) ------------------------------------
    def lease_blobs(self, blob_ids: Sequence[str]) -> str | None:
        if self._session is None or not blob_ids:
            return None
        lease_id, wanted = secrets.token_hex(8), sorted(set(blob_ids))
        with self._write() as db:  # SQLite's one writer: no claim runs meanwhile
            for blob_id in wanted:
                if _claimed(db, blob_id):
                    raise ValueError(f"blob {blob_id} is being collected")
            db.executemany(
                "INSERT OR IGNORE INTO read_leases (blob_id, lease_id, session_id)"
                " VALUES (?, ?, ?)",
                [(blob_id, lease_id, self._session) for blob_id in wanted],
            )
        return lease_id

    def drop_lease(self, lease_id: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM read_leases WHERE lease_id = ?", (lease_id,))


def _claimed(db: sqlite3.Connection, blob_id: str) -> bool:
    """Neither counted nor queued: a collector took it, its bytes may be gone."""
    row = db.execute(
        "SELECT EXISTS (SELECT 1 FROM blobs WHERE blob_id = ? AND refs > 0)"
        " OR EXISTS (SELECT 1 FROM garbage WHERE blob_id = ?)",
        (blob_id, blob_id),
    ).fetchone()
    return not row[0]
