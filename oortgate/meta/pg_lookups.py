"""Keys (with their users) and buckets remembered per worker on PostgreSQL, forgotten as
soon as the database says they changed.

Every write of a key, a user or a bucket notifies the channel ``og_lookups`` from a
trigger (see pg_schema), so whoever writes (another worker or gateway, the admin CLI)
announces it, and PostgreSQL delivers the notice when that transaction commits. Each
worker LISTENs on one dedicated connection (``LookupListener``) and forgets the entry a
notice names. The cache answers only while that connection is up: when it drops,
everything is forgotten and lookups go to the database until it is back (LISTEN again,
then forget again: the notices sent meanwhile are lost). Whatever happens to notices, an
entry is re-read once it is MAX_AGE old. Objects are never cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg

from oortgate.meta.models import AccessKey, Bucket, User

log = logging.getLogger("oortgate")
V = TypeVar("V")

CHANNEL = "og_lookups"
MAX_AGE = 5.0  # seconds: an entry older than this is read again
MAX_ENTRIES = 10_000  # per kind; past it the cache starts over (bounded memory)
RECONNECT_FIRST, RECONNECT_MAX = 0.05, 2.0  # seconds between attempts, doubling
# A LISTEN connection that died without a word (a partition) is noticed in ~8 s; entries
# are re-read after MAX_AGE meanwhile.
LISTEN_OPTIONS: dict[str, Any] = {
    "autocommit": True, "connect_timeout": 5, "application_name": "oortgate-lookups",
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 1, "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}  # fmt: skip

Credentials = tuple[AccessKey, User]


class LookupCache:
    """The entries and the rules; no I/O (the listener and the loaders are given)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.listening = False  # True only while notices are sure to arrive
        # Bumped by every notice and flush: a load that straddles one is not kept (what
        # it read may predate the change the notice announced).
        self._generation = 0
        self._credentials: dict[str, tuple[float, Credentials]] = {}
        self._buckets: dict[str, tuple[float, Bucket]] = {}

    def flush(self) -> None:
        self._generation += 1
        self._credentials.clear()
        self._buckets.clear()

    def notice(self, payload: str) -> None:
        """A notice's payload: "k:<access key>", "u:<user id>", "b:<bucket name>" (any
        other, e.g. "*" after a TRUNCATE: everything)."""
        self._generation += 1
        kind, _, name = payload.partition(":")
        if kind == "k":
            self._credentials.pop(name, None)
        elif kind == "b":
            self._buckets.pop(name, None)
        elif kind == "u" and name.isdigit():
            user_id = int(name)
            stale = [k for k, (_, (_, u)) in self._credentials.items() if u.id == user_id]
            for access_key in stale:
                del self._credentials[access_key]
        else:
            self.flush()

    def set_listening(self, listening: bool) -> None:
        """Either way, what is remembered may have missed notices: forgotten."""
        self.flush()
        self.listening = listening

    async def credentials(
        self, access_key: str, load: Callable[[str], Awaitable[Credentials | None]]
    ) -> Credentials | None:
        return await self._cached(self._credentials, access_key, load)

    async def bucket(
        self, name: str, load: Callable[[str], Awaitable[Bucket | None]]
    ) -> Bucket | None:
        return await self._cached(self._buckets, name, load)

    async def _cached(
        self,
        cache: dict[str, tuple[float, V]],
        name: str,
        load: Callable[[str], Awaitable[V | None]],
    ) -> V | None:
        if self.listening:
            entry = cache.get(name)
            if entry is not None and self._clock() - entry[0] < MAX_AGE:
                return entry[1]
        generation, started = self._generation, self._clock()
        found = await load(name)
        # Only what exists (unknown names cannot fill the cache), only while notices
        # arrive, only if none arrived during the load.
        if found is not None and self.listening and generation == self._generation:
            if len(cache) >= MAX_ENTRIES:
                cache.clear()
            cache[name] = (started, found)
        return found


class LookupListener:
    """The worker's LISTEN connection: feeds a LookupCache, reconnects with backoff."""

    def __init__(self, url: str, cache: LookupCache) -> None:
        self._url = url
        self._cache = cache
        self._task: asyncio.Task[None] | None = None
        self.backend_pid: int | None = None  # the LISTEN connection's server process
        self.connects = 0  # successful LISTENs so far

    def start(self) -> None:
        """In the worker's event loop (the connection belongs to it)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=CHANNEL)

    async def _run(self) -> None:
        delay = RECONNECT_FIRST
        while True:
            connects = self.connects
            try:
                await self._listen()
            except (psycopg.Error, OSError) as exc:
                if self.connects > connects or delay == RECONNECT_FIRST:  # once per outage
                    log.warning("metadata cache: LISTEN connection lost, lookups bypass the "
                                "cache until it is back: %s", str(exc).strip())  # fmt: skip
            finally:
                self._cache.set_listening(False)
                self.backend_pid = None
            if self.connects > connects:  # it was up: the backoff starts over
                delay = RECONNECT_FIRST
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._url, **LISTEN_OPTIONS)
        async with conn:
            await conn.execute(f"LISTEN {CHANNEL}".encode())
            self.backend_pid = conn.info.backend_pid
            self.connects += 1
            self._cache.set_listening(True)  # (after LISTEN: no notice can be missed now)
            async for notice in conn.notifies():
                self._cache.notice(notice.payload)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
