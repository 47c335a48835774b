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

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from oortgate import sessions
from oortgate.config import ConfigError
from oortgate.meta.base import MetaStore
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_base import RateLimiter
from oortgate.secretbox import SecretBox
from oortgate.storage import shared_root
from oortgate.storage.base import BlobStore
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from oortgate.storage.tiered import TieredBlobs, TieredLocalBlobs
from oortgate.store_urls import BlobLocation, DataDirBlobs, RadosBlobs

if TYPE_CHECKING:
    from oortgate.config import Settings

# The synchronous implementations, for the command-line tools (see above) and callers
# that need more than the protocols (admin's key resealing, fsck's blob walk).
MetaDb = SqliteMetaStore
Blobs = LocalBlobStore | TieredLocalBlobs

DB_FILE = "meta.sqlite3"
# Left in the data directory by a server whose metadata is in PostgreSQL: the tools that
# only know SQLite refuse that directory.
PG_MARKER = "metadata-in-postgresql"


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


def open_meta(data_dir: Path, box: SecretBox | None = None) -> MetaDb:
    """A metadata connection; ``box`` (default: from the environment) opens secrets."""
    return SqliteMetaStore(db_path(data_dir), box if box is not None else SecretBox.from_env())


def open_blobs(data_dir: Path, settings: Settings | None = None) -> Blobs:
    """The blob store(s) the settings name (None: the data directory's), one per tier
    when ``archive_blob_url`` sets the Archive tier's apart (see storage.tiered)."""
    if settings is None:
        return LocalBlobStore(data_dir)
    standard = _file_blobs(data_dir, settings.blob_location, "blob_url")
    if settings.archive_blob_location == settings.blob_location:
        return standard
    archive = _file_blobs(data_dir, settings.archive_blob_location, "archive_blob_url")
    return TieredLocalBlobs(standard, archive)


def _file_blobs(data_dir: Path, location: BlobLocation, setting: str) -> LocalBlobStore:
    if isinstance(location, DataDirBlobs):
        # The data directory is locked by its one server (see datadir_lock): no other
        # writer can be under way when its sweep runs, hence no minimum age.
        return LocalBlobStore(data_dir)
    if isinstance(location, RadosBlobs):
        raise ConfigError(f"{setting} rados:// is not available yet")
    if not location.path.is_dir():  # a share not mounted must not become a local dir
        raise ConfigError(f"{setting}: directory {location.path} does not exist "
                          "(is the share mounted?)")  # fmt: skip
    owner = shared_root.embedded_identity(data_dir)
    try:
        shared_root.register(location.path, owner)
        root = location.path
        return LocalBlobStore(root, f"tmp/{owner}",
                              lambda: shared_root.orphan_min_age(root, owner))  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"{setting}: directory {location.path} cannot be used: "
                          f"{exc.strerror or exc}") from None  # fmt: skip


class BlockingMeta:
    """An async MetaStore driven from a command-line tool (``oortgate admin`` on
    PostgreSQL): each call runs to completion on the tool's own event loop."""

    def __init__(self, meta: MetaStore) -> None:
        self._meta = meta
        self._loop = asyncio.new_event_loop()

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._meta, name)
        return lambda *args, **kwargs: self._loop.run_until_complete(method(*args, **kwargs))

    def close(self) -> None:
        try:
            self._loop.run_until_complete(self._meta.close())
        finally:
            self._loop.close()


def open_tool_meta(url: str) -> MetaDb:
    """The admin tool's metadata store for a PostgreSQL metadata_url (the users and keys
    commands, which the Protocol covers), behind the synchronous interface they use."""
    return cast(MetaDb, BlockingMeta(open_postgres(url, SecretBox.from_env())))


@dataclass(frozen=True, slots=True)
class Stores:
    meta: MetaStore
    blobs: BlobStore
    limiter: RateLimiter | None  # None: no rate limit configured


def open_stores(settings: Settings) -> Stores:
    """What a server worker process runs on: the async interfaces. Its writes belong to
    a new session (see oortgate.sessions; the server heartbeats it)."""
    box = SecretBox.from_env()
    limiter = open_limiter(settings)
    if settings.metadata_url:
        # The worker's session is opened when the store first connects (in the worker's
        # event loop), then handed to its blob store (temp files are the session's).
        blob_store = async_blobs(open_blobs(settings.data_dir, settings))
        meta = open_postgres(settings.metadata_url, box, on_session=blob_store.use_session,
                             cache_lookups=True)  # fmt: skip
        return Stores(meta, blob_store, limiter)
    writer, blobs = open_meta(settings.data_dir, box), open_blobs(settings.data_dir, settings)
    sessions.open_session(writer, blobs)
    # Two connections: one for writes on the store's thread, one for point lookups on
    # the event loop (see AsyncSqliteMeta).
    meta = AsyncSqliteMeta(writer, open_meta(settings.data_dir, box))
    return Stores(meta, async_blobs(blobs), limiter)


def async_blobs(blobs: Blobs) -> BlobStore:
    """The async BlobStore over what open_blobs opened (a router over one per tier)."""
    if isinstance(blobs, TieredLocalBlobs):
        return TieredBlobs(AsyncLocalBlobs(blobs.standard), AsyncLocalBlobs(blobs.archive))
    return AsyncLocalBlobs(blobs)


def open_postgres(
    url: str,
    box: SecretBox | None,
    on_session: Callable[[str], Awaitable[None]] | None = None,
    cache_lookups: bool = False,
) -> MetaStore:
    """The PostgreSQL metadata store (``metadata_url``). It connects lazily, in the event
    loop that first uses it (checking the server, migrating the schema); with
    ``on_session`` (a server worker) it registers a session then and passes its id on;
    with ``cache_lookups`` (a server worker) it remembers keys and buckets, listening for
    the database's notices of their changes (see oortgate.meta.pg_lookups)."""
    from oortgate.meta.pg_store import PgMetaStore

    return PgMetaStore(url, box, on_session=on_session, cache_lookups=cache_lookups)


def open_limiter(settings: Settings) -> RateLimiter | None:
    """This host's limiter, or Redis's shared one (with this host's as its fallback)."""
    if not settings.rate_limit:
        return None
    local = SharedRateLimiter(settings.rate_limit_path)
    if not settings.rate_limit_url:
        return local
    from oortgate.ratelimit_redis import RedisRateLimiter
    from oortgate.store_urls import parse_redis_url

    host, port, _ = parse_redis_url(settings.rate_limit_url)
    # One name for all the workers of this gateway (two gateways never share a data dir).
    gateway = f"{socket.gethostname()}:{settings.data_dir}"
    return RedisRateLimiter(settings.rate_limit_url, f"{host}:{port}", gateway,
                            settings.rate_limit_fallback, local)  # fmt: skip
