"""The composition root of persistence: the one place that picks the metadata store, the
blob store and the rate limiter (this host's, or Redis's shared one), and knows where
their files live in the data directory.

The server runs on the async interfaces (``open_stores``: ``MetaStore``, ``BlobStore``,
``RateLimiter``). The command-line tools (the start-up sweep, ``oortgate gc``, ``admin``,
``fsck``, ``stats``) run before or beside the server, one short job each, with no event
loop to share: they keep the synchronous SQLite and file classes (``open_meta``,
``open_blobs``), which are what the async adapters drive anyway, rather than spin up an
event loop, the metadata thread and a thread pool per command. A tool that must work
on any backend will move to the async interfaces with ``asyncio.run``.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from oortgate import sessions
from oortgate.meta.base import MetaStore
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_base import RateLimiter
from oortgate.secretbox import SecretBox
from oortgate.storage.base import BlobStore
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs

if TYPE_CHECKING:
    from oortgate.config import Settings

# The synchronous implementations, for the command-line tools (see above) and callers
# that need more than the protocols (admin's key resealing, fsck's blob walk).
MetaDb = SqliteMetaStore
Blobs = LocalBlobStore

DB_FILE = "meta.sqlite3"


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


def open_meta(data_dir: Path, box: SecretBox | None = None) -> MetaDb:
    """A metadata connection; ``box`` (default: from the environment) opens secrets."""
    return SqliteMetaStore(db_path(data_dir), box if box is not None else SecretBox.from_env())


def open_blobs(data_dir: Path) -> Blobs:
    return LocalBlobStore(data_dir)


@dataclass(frozen=True, slots=True)
class Stores:
    meta: MetaStore
    blobs: BlobStore
    limiter: RateLimiter | None  # None: no rate limit configured


def open_stores(settings: Settings) -> Stores:
    """What a server worker process runs on: the async interfaces. Its writes belong to
    a new session (see oortgate.sessions; the server heartbeats it)."""
    box = SecretBox.from_env()
    writer, blobs = open_meta(settings.data_dir, box), open_blobs(settings.data_dir)
    sessions.open_session(writer, blobs)
    # Two connections: one for writes on the store's thread, one for point lookups on
    # the event loop (see AsyncSqliteMeta).
    meta = AsyncSqliteMeta(writer, open_meta(settings.data_dir, box))
    return Stores(meta, AsyncLocalBlobs(blobs), open_limiter(settings))


def open_limiter(settings: Settings) -> RateLimiter | None:
    """This host's limiter, or Redis's shared one (with this host's as its fallback)."""
    if not settings.rate_limit:
        return None
    local = SharedRateLimiter(settings.rate_limit_path)
    if not settings.rate_limit_url:
        return local
    from oortgate.config import parse_redis_url
    from oortgate.ratelimit_redis import RedisRateLimiter

    host, port, _ = parse_redis_url(settings.rate_limit_url)
    # One name for all the workers of this gateway (two gateways never share a data dir).
    gateway = f"{socket.gethostname()}:{settings.data_dir}"
    return RedisRateLimiter(settings.rate_limit_url, f"{host}:{port}", gateway,
                            settings.rate_limit_fallback, local)  # fmt: skip
