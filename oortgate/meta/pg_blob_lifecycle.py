"""The blob lifecycle on PostgreSQL: pending marks, garbage, and which ids rows know."""

from __future__ import annotations

import time
from collections.abc import Sequence

from psycopg import errors

from oortgate.meta.pg_accounts import PgAccounts
from oortgate.meta.pg_db import Conn
from oortgate.meta.pg_schema import KNOWN_BLOBS
from oortgate.meta.sqlite_schema import BLOB_TABLES

# A moment given on this host's clock, put on the database clock (its distance from now
# is kept): the argument is ``moment - time.time()``.
_FROM_NOW = "og_now() + %s"
# A blob under a read lease of a registered session waits (see lease_blobs).
_LEASED = (
    "EXISTS (SELECT 1 FROM read_leases l JOIN sessions s ON s.session_id = l.session_id"
    " WHERE l.blob_id = g.blob_id)"
)
_CLAIM_UNLEASED = (
    f"DELETE FROM garbage g WHERE blob_id = ANY(%s::og_name[]) AND NOT {_LEASED} RETURNING blob_id"
).encode()


class PgBlobLifecycle(PgAccounts):
    async def add_pending_blob(self, blob_id: str) -> None:
        await self._open()  # first: a worker's first mark needs its session, opened then
        try:
            await self._count(
                "INSERT INTO pending_blobs (blob_id, created, session_id)"
                " VALUES (%s, og_now(), %s)",
                blob_id,
                self._session,
            )
        except errors.UniqueViolation:
            raise ValueError(f"blob id already pending: {blob_id}") from None

    async def drop_pending_blob(self, blob_id: str) -> None:
        await self._count(
            "WITH d AS (DELETE FROM pending_blobs WHERE blob_id = %s RETURNING blob_id)"
            " INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING",
            blob_id,
        )

    async def take_garbage(
        self, limit: int = 1000, queued_before: float | None = None
    ) -> list[str]:
        """One transaction: lock due rows no other collector holds (SKIP LOCKED, so
        collectors split the work), then delete those still under no live lease. The
        lease check is a second statement, whose snapshot follows the locks: a lease
        committed before them is seen, one taken after waits for this claim (see
        og_lease) and finds its blob gone."""
        args: tuple[float, ...] = ()
        if queued_before is None:
            due = "TRUE"
        else:  # the grace is measured on the database clock
            due, args = f"queued_at <= {_FROM_NOW}", (queued_before - time.time(),)

        async def claim(conn: Conn) -> list[str]:
            async with conn.transaction():
                cur = await conn.execute(  # (leased ones skipped here too: no batch of them)
                    f"SELECT blob_id FROM garbage g WHERE {due} AND NOT {_LEASED}"
                    " ORDER BY blob_id LIMIT %s FOR UPDATE SKIP LOCKED".encode(),
                    (*args, limit),
                )
                locked = [row[0] for row in await cur.fetchall()]
                if not locked:
                    return []
                cur = await conn.execute(_CLAIM_UNLEASED, (locked,))
                return sorted(row[0] for row in await cur.fetchall())

        return await self._run(claim)

    async def known_blobs(self, blob_ids: Sequence[str]) -> set[str]:
        ids = list(blob_ids)
        rows = await self._rows(KNOWN_BLOBS, *([ids] * len(BLOB_TABLES)))
        return {row[0] for row in rows}

    async def recover_pending(self) -> int:
        """Marks of no registered session become garbage (one statement)."""
        row = await self._one(
            "WITH d AS (DELETE FROM pending_blobs p WHERE p.session_id IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM sessions s WHERE s.session_id = p.session_id) RETURNING blob_id),"
            " g AS (INSERT INTO garbage (blob_id) SELECT blob_id FROM d ON CONFLICT DO NOTHING)"
            " SELECT count(*) FROM d"
        )
        return int(row[0]) if row else 0
