"""The PostgreSQL connection pool and the call helpers the store's parts share.

A worker has a pool of autocommit connections (psycopg 3 async): requests run in
parallel, each write is one function call (its own transaction), so nothing holds a
connection across an await of the caller's. The pool opens lazily, inside the worker's
event loop (a pool is bound to one): the first call connects, checks the server's
durability settings, migrates the schema and registers the worker's session.

Driver errors never cross the seam: SQLSTATE OGS3E is an S3Error raised by our SQL,
serialization failures and deadlocks are retried, and a lost connection, an exhausted
pool or a timeout becomes StoreUnavailable (the server answers 503).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, errors
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from oortgate.errors import STATUS, S3Error, StoreUnavailable
from oortgate.meta.pg_lookups import LookupCache, LookupListener
from oortgate.meta.pg_schema import SchemaError, migrate
from oortgate.secretbox import SecretBox

T = TypeVar("T")
Row = tuple[Any, ...]
Conn = AsyncConnection[Row]

S3_ERROR_STATE = "OGS3E"  # an S3Error raised by our functions (see og_raise)
VALUE_ERROR_STATE = "OGVAL"  # a ValueError (as the Protocol documents)
RETRIES = 5
CONNECT_TIMEOUT = 5  # seconds
POOL_TIMEOUT = 5.0  # waiting for a free connection: then 503 SlowDown
# A pool's reconnection attempts back off exponentially (1, 2, 4 ... s) until this; then
# the next request that waits starts a fresh one. psycopg_pool's 5 minutes left a gateway
# cut off for 100 s answering 503 for another 30 s or more once the network was back.
RECONNECT_TIMEOUT = 2.0 * CONNECT_TIMEOUT
# Per connection: no statement, lock wait or forgotten transaction runs unbounded.
SESSION_OPTIONS = (
    "-c statement_timeout=30000 -c lock_timeout=10000"
    " -c idle_in_transaction_session_timeout=30000"
)
# A database that goes silent (a partition drops packets: no reset arrives) must fail a
# request, not hang it: unacknowledged bytes give up after TCP_USER_TIMEOUT, and a request
# waiting for an answer learns the peer is gone from keepalive probes (5 + 3 x 2 s).
NETWORK_OPTIONS: dict[str, Any] = {
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}  # fmt: skip
_RETRIED = (errors.SerializationFailure, errors.DeadlockDetected)
_BUSY = (errors.LockNotAvailable, errors.QueryCanceled)

SessionHook = Callable[[str], Awaitable[None]]


# Connections per worker: enough for its requests to overlap, few enough that
# gateways x workers x POOL_SIZE stays under the server's max_connections.
POOL_SIZE = 8


def conninfo_kwargs() -> dict[str, Any]:
    return {"autocommit": True, "connect_timeout": CONNECT_TIMEOUT, "options": SESSION_OPTIONS,
            **NETWORK_OPTIONS}  # fmt: skip


def s3_error(code: str, detail: str | None) -> S3Error:
    """An S3Error raised by og_raise: its code, and its XML fields as JSON (the codes in
    the SQL are checked against the table by tests/unit/test_error_table.py)."""
    err = S3Error(code if code in STATUS else "InternalError")
    err.fields = {str(k): str(v) for k, v in json.loads(detail or "{}").items()}
    return err


def as_s3_error(exc: psycopg.Error) -> Exception | None:
    """The exception an error raised by our SQL stands for (None: not ours)."""
    if exc.sqlstate == S3_ERROR_STATE:
        return s3_error(exc.diag.message_primary or "InternalError", exc.diag.message_detail)
    if exc.sqlstate == VALUE_ERROR_STATE:
        return ValueError(exc.diag.message_primary or "invalid value")
    return None


class PgBase:
    def __init__(self, url: str, box: SecretBox | None = None,
                 on_session: SessionHook | None = None,
                 cache_lookups: bool = False) -> None:  # fmt: skip
        self.url = url
        self._box = box
        self._on_session = on_session
        self._session: str | None = None
        # Keys and buckets, for a server worker (a tool's short calls gain nothing): the
        # cache answers only while its listener's LISTEN connection is up.
        self._lookups = LookupCache()
        self.listener = LookupListener(url, self._lookups) if cache_lookups else None
        # Calls sent to the database (for tests and bench/): one round trip each, but for
        # the few key and user writes that are a transaction of several statements.
        self.calls = 0
        self._pool = self._new_pool()
        self._ready = False
        self._opening: asyncio.Lock | None = None

    def _new_pool(self) -> AsyncConnectionPool:
        return AsyncConnectionPool(
            self.url, kwargs=conninfo_kwargs(), min_size=1, max_size=POOL_SIZE, open=False,
            timeout=POOL_TIMEOUT, name="oortgate-meta", reconnect_timeout=RECONNECT_TIMEOUT,
        )  # fmt: skip

    async def _open(self) -> None:
        """The pool, the schema and this worker's session, on first use; a failure leaves
        as StoreUnavailable (503) and the next request tries again."""
        if self._ready:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._ready:
                return
            try:
                await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT * 2)
            except PoolTimeout as exc:
                # The pool closes itself when its first connection times out, and a closed
                # pool cannot be opened again: the next request gets a new one (a worker
                # first used during an outage answered 500 PoolClosed until restarted).
                self._pool = self._new_pool()
                raise StoreUnavailable(f"PostgreSQL does not answer: {exc}") from None
            try:
                async with self._pool.connection() as conn:
                    await self._prepare(conn)
            except SchemaError as exc:  # (the server cannot use this database)
                raise StoreUnavailable(str(exc)) from None
            except PoolTimeout as exc:
                raise StoreUnavailable(f"no free PostgreSQL connection: {exc}", busy=True) from None
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from None
            if self.listener is not None:
                self.listener.start()
            self._ready = True

    async def _prepare(self, conn: Conn) -> None:
        await migrate(conn)
        if self._on_session is not None:  # a server worker: writes need a session
            host, pid = socket.gethostname(), os.getpid()
            self._session = await self._register(conn, host, pid)
            await self._on_session(self._session)

    async def _register(self, conn: Conn, host: str, pid: int) -> str:
        """A new session row (its id: 16 hex digits); becomes this store's session."""
        cur = await conn.execute(
            "INSERT INTO sessions (session_id, host, pid, started, heartbeat)"
            " VALUES (substr(md5(random()::text || clock_timestamp()::text), 1, 16),"
            " %s, %s, og_now(), og_now()) RETURNING session_id",
            (host, pid),
        )
        row = await cur.fetchone()
        assert row is not None
        self._session = str(row[0])
        return self._session

    async def _run(self, work: Callable[[Conn], Awaitable[T]], retry_unique: bool = False) -> T:
        """``work`` on a pooled connection, retried on serialization failures and
        deadlocks (and unique violations if asked: a racing insert of the same row);
        driver failures leave as StoreUnavailable."""
        await self._open()
        retried: tuple[type[Exception], ...] = _RETRIED
        if retry_unique:
            retried = (*_RETRIED, errors.UniqueViolation)
        for attempt in range(RETRIES):
            self.calls += 1
            try:
                async with self._pool.connection() as conn:
                    return await work(conn)
            except retried:
                await asyncio.sleep(0.005 * 2**attempt)
            except _BUSY as exc:
                raise StoreUnavailable(f"PostgreSQL timed out: {exc}", busy=True) from None
            except PoolTimeout as exc:
                raise StoreUnavailable(f"no free PostgreSQL connection: {exc}", busy=True) from None
            except psycopg.DataError as exc:
                if "NUL" not in str(exc):
                    raise
                # A prefix, marker or copy source holding U+0000: no key can.
                raise S3Error("InvalidArgument", "Object keys, prefixes and markers may not"
                              " contain the character U+0000.") from None  # fmt: skip
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from None
            except psycopg.Error as exc:
                mapped = as_s3_error(exc)
                if mapped is None:
                    raise
                raise mapped from None
        raise StoreUnavailable("PostgreSQL: retries exhausted", busy=True)

    async def _rows(self, sql: str, *args: Any, retry_unique: bool = False) -> list[Row]:
        async def work(conn: Conn) -> list[Row]:
            cur = await conn.execute(sql.encode(), args)
            return await cur.fetchall() if cur.description is not None else []

        return await self._run(work, retry_unique)

    async def _one(self, sql: str, *args: Any) -> Row | None:
        rows = await self._rows(sql, *args)
        return rows[0] if rows else None

    async def _count(self, sql: str, *args: Any) -> int:
        """The number of rows a statement changed."""

        async def work(conn: Conn) -> int:
            cur = await conn.execute(sql.encode(), args)
            return cur.rowcount

        return await self._run(work)

    async def close(self) -> None:
        if self.listener is not None:
            await self.listener.close()
        await self._pool.close()


__all__ = ["PgBase", "SchemaError", "as_s3_error"]
