"""MetaStore on PostgreSQL (psycopg 3 async, a connection pool per worker).

Assembled like the SQLite store, one class per concern: the pool and call helpers
(``pg_db``), accounts and buckets, objects and listings, multipart uploads; sessions and
totals here. The schema and its functions are in ``pg_schema`` and ``pg_sql_*``.

Differences from the SQLite store, by design: a server worker's keys and buckets are
cached until the database announces a change (LISTEN/NOTIFY, see ``pg_lookups``; on
SQLite a commit anywhere clears the cache), so ``refresh`` has nothing to ask; objects are
never cached; ``last_modified``, restore, session and garbage times come from the
database clock; a key holding U+0000 cannot be stored (PostgreSQL text cannot
hold it), which the handlers refuse before any store sees it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from oortgate.meta.models import Session, StorageUsage
from oortgate.meta.pg_multipart import PgMultipart

_SESSION_COLS = "session_id, host, pid, started, heartbeat"


class PgMetaStore(PgMultipart):
    # -- sessions -------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        return self._session

    async def open_session(self, host: str, pid: int) -> str:
        return await self._run(lambda conn: self._register(conn, host, pid))

    async def heartbeat(self) -> bool:
        await self._open()
        if self._session is None:
            return False
        sql = "UPDATE sessions SET heartbeat = og_now() WHERE session_id = %s"
        return await self._count(sql, self._session) > 0

    async def list_sessions(self) -> list[Session]:
        rows = await self._rows(f"SELECT {_SESSION_COLS} FROM sessions ORDER BY started")
        return [Session(*row) for row in rows]

    async def end_sessions(self, session_ids: Sequence[str]) -> int:
        """Their pending marks become garbage and their rows go: one statement."""
        row = await self._one(
            "WITH s AS (DELETE FROM sessions WHERE session_id = ANY(%s::og_name[])),"
            " d AS (DELETE FROM pending_blobs WHERE session_id = ANY(%s::og_name[])"
            " RETURNING blob_id),"
            " g AS (INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING)"
            " SELECT count(*) FROM d",
            list(session_ids),
            list(session_ids),
        )
        if self._session in session_ids:
            self._session = None
        return int(row[0]) if row else 0

    # -- totals and health ------------------------------------------------------------
    async def usage(self, garbage_due_before: float) -> StorageUsage:
        row = await self._one(
            "SELECT (SELECT COALESCE(SUM(size), 0) FROM objects), (SELECT COUNT(*) FROM objects),"
            " (SELECT COUNT(*) FROM garbage), (SELECT COUNT(*) FROM garbage"
            " WHERE queued_at <= og_now() + %s)",
            garbage_due_before - time.time(),
        )
        assert row is not None
        stored, count, garbage, due = (int(v) for v in row)
        return StorageUsage(stored, count, due, garbage - due)

    # -- console sign-outs ------------------------------------------------------------
    async def end_console_session(self, sid: str, expires: float) -> None:
        """Remember until ``expires``; rows past their time go first (a sign-out is
        rare: two statements, no transaction needed)."""
        await self._count("DELETE FROM console_signouts WHERE expires < %s", time.time())
        await self._count(
            "INSERT INTO console_signouts (sid, expires) VALUES (%s, %s)"
            " ON CONFLICT (sid) DO UPDATE SET expires = EXCLUDED.expires",
            sid, expires,
        )

    async def console_session_ended(self, sid: str) -> bool:
        return await self._one("SELECT 1 FROM console_signouts WHERE sid = %s", sid) is not None

    async def ping(self) -> None:
        await self._one("SELECT 1")
