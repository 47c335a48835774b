"""The composition root of persistence: the one place that picks the metadata store, the
blob store and the rate limiter (this host's, or Redis's shared one), and knows where
their files live in the data directory.

The server runs on the async interfaces (``open_stores``: ``MetaStore``, ``BlobStore``,
``RateLimiter``); so do the command-line tools (the start-up sweep, ``oortgate gc``,
``admin``, ``stats``, ``fsck``), each in an event loop of its own (``asyncio.run``) on the
stores ``open_tool_meta``, ``open_tool_blobs`` and ``open_scan`` open: one code path
for every backend.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, overload

from oortgate.config import ConfigError
from oortgate.meta.base import MetaStore
from oortgate.meta.scan import MetaScan
from oortgate.meta.sqlite import SqliteMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.meta.sqlite_scan import SqliteScan
from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_base import RateLimiter
from oortgate.secretbox import SecretBox
from oortgate.storage import shared_root
from oortgate.storage.base import BlobStore
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from oortgate.storage.tiered import TieredBlobs
from oortgate.store_urls import BlobLocation, DataDirBlobs, DirectoryBlobs, RadosBlobs

if TYPE_CHECKING:
    from oortgate.config import Settings


@dataclass(frozen=True, slots=True)
class LocalTiers:
    """One file store per tier (``archive_blob_url`` apart): what ``async_blobs`` puts the
    router (storage.tiered) over."""

    standard: LocalBlobStore
    archive: LocalBlobStore

    def use_session(self, session_id: str) -> None:
        self.standard.use_session(session_id)
        self.archive.use_session(session_id)


# The synchronous implementations the async adapters drive.
MetaDb = SqliteMetaStore
Blobs = LocalBlobStore | LocalTiers

DB_FILE = "meta.sqlite3"
# Left in the data directory by a server whose metadata is in PostgreSQL: a tool run
# there without metadata_url is refused (it would open an empty SQLite store).
PG_MARKER = "metadata-in-postgresql"


def db_path(data_dir: Path) -> Path:
    return data_dir / DB_FILE


def open_meta(data_dir: Path, box: SecretBox | None = None) -> MetaDb:
    """A metadata connection; ``box`` (default: from the environment) opens secrets."""
    return SqliteMetaStore(db_path(data_dir), box if box is not None else SecretBox.from_env())


@overload
def open_blobs(data_dir: Path, settings: None = None) -> LocalBlobStore: ...


@overload
def open_blobs(data_dir: Path, settings: Settings) -> Blobs: ...


def open_blobs(data_dir: Path, settings: Settings | None = None) -> Blobs:
    """The blob store(s) the settings name (None: the data directory's), one per tier
    when ``archive_blob_url`` sets the Archive tier's apart (see storage.tiered). The
    synchronous file stores only: a rados:// one is async-only (see ``worker_blobs``).
    On PostgreSQL (``metadata_url``) the schema must exist (the database's identity
    names the owner of a shared directory)."""
    if settings is None:
        return LocalBlobStore(data_dir)
    standard = _file_blobs(settings, settings.blob_location, "blob_url")
    if settings.archive_blob_location == settings.blob_location:
        return standard
    archive = _file_blobs(settings, settings.archive_blob_location, "archive_blob_url")
    return LocalTiers(standard, archive)


def rados_settings(settings: Settings) -> list[tuple[str, RadosBlobs]]:
    """(setting, location) of each tier kept in a RADOS pool (a pool shared by both
    tiers is named once, as blob_url)."""
    named = [("blob_url", settings.blob_location)]
    if settings.archive_blob_location != settings.blob_location:
        named.append(("archive_blob_url", settings.archive_blob_location))
    return [(name, where) for name, where in named if isinstance(where, RadosBlobs)]


def _file_blobs(settings: Settings, location: BlobLocation, setting: str) -> LocalBlobStore:
    data_dir = settings.data_dir
    if isinstance(location, DataDirBlobs):
        if settings.metadata_url:
            # Other gateways share the metadata: a blob committed by this one (on
            # another worker) may not have its record visible yet to a sweep.
            return LocalBlobStore(data_dir, orphan_min_age=lambda: shared_root.ORPHAN_MIN_AGE)
        # The data directory is locked by its one server (see datadir_lock): no other
        # writer can be under way when its sweep runs, hence no minimum age.
        return LocalBlobStore(data_dir)
    if isinstance(location, RadosBlobs):
        raise ConfigError(f"{setting} is a rados:// store: this command reads blob files "
                          "and does not support RADOS yet (serve and gc do)")  # fmt: skip
    if not location.path.is_dir():  # a share not mounted must not become a local dir
        raise ConfigError(f"{setting}: directory {location.path} does not exist "
                          "(is the share mounted?)")  # fmt: skip
    owner = _metadata_identity(settings)
    try:
        shared_root.register(location.path, owner)
        root = location.path
        return LocalBlobStore(root, f"tmp/{owner}",
                              lambda: shared_root.orphan_min_age(root, owner))  # fmt: skip
    except OSError as exc:
        raise ConfigError(f"{setting}: directory {location.path} cannot be used: "
                          f"{exc.strerror or exc}") from None  # fmt: skip


def worker_blobs(settings: Settings, session_id: str | None = None) -> BlobStore:
    """The async blob store(s) of a server worker (or an async tool), one per tier when
    ``archive_blob_url`` sets the Archive tier's apart; temp files belong to
    ``session_id`` if given. A RADOS store connects on first use, in the event loop
    that uses it (after the fork: see storage.rados_lazy)."""
    standard = _async_tier(settings, settings.blob_location, "blob_url", session_id)
    if settings.archive_blob_location == settings.blob_location:
        return standard
    archive = _async_tier(settings, settings.archive_blob_location,
                          "archive_blob_url", session_id)  # fmt: skip
    return TieredBlobs(standard, archive)


def _async_tier(
    settings: Settings, location: BlobLocation, setting: str, session_id: str | None
) -> BlobStore:
    if isinstance(location, RadosBlobs):
        return open_rados(location, session_id)
    files = _file_blobs(settings, location, setting)
    if session_id is not None:
        files.use_session(session_id)  # after the session's row is committed
    return AsyncLocalBlobs(files)


def open_rados(location: RadosBlobs, session_id: str | None = None) -> BlobStore:
    """A RADOS pool's store; it connects on first use (ImportError without the binding)."""
    from oortgate.storage.rados_lazy import LazyRadosBlobs

    return LazyRadosBlobs(location, session_id)


def _metadata_identity(settings: Settings) -> str:
    """Who owns blobs in a shared directory: the metadata store (all the gateways on one
    PostgreSQL database are one owner; an embedded store is its data directory's)."""
    if not settings.metadata_url:
        return shared_root.embedded_identity(settings.data_dir)
    from oortgate.meta.pg_identity import read_identity

    try:
        return read_identity(settings.metadata_url)
    except OSError as exc:  # (psycopg's errors are not OSErrors: see read_identity)
        raise ConfigError(f"metadata_url: {exc}") from None


def open_tool_meta(settings: Settings) -> MetaStore:
    """The metadata store a command-line tool runs on (in its own event loop: it
    connects at the first call); no session (a tool writes no blob)."""
    box = SecretBox.from_env()
    if settings.metadata_url:
        return open_postgres(settings.metadata_url, box)
    data_dir = settings.data_dir
    return AsyncSqliteMeta(open_meta(data_dir, box), open_meta(data_dir, box))


async def open_scan(settings: Settings, writable: bool = False) -> MetaScan:
    """fsck's walk of the metadata (oortgate.meta.scan); ``writable``: it may set drifted
    reference counts right (``--repair``). Raises MetadataUnusable when there is nothing
    to check (no database file, a newer schema)."""
    if settings.metadata_url:
        from oortgate.meta.pg_scan import open_pg_scan

        return await open_pg_scan(settings.metadata_url)
    data_dir = settings.data_dir
    # The writer (only for --repair) opens at the first repair: never creates a database.
    return SqliteScan(db_path(data_dir), (lambda: open_meta(data_dir)) if writable else None)


def open_tool_blobs(settings: Settings) -> BlobStore:
    """The blob store a command-line tool runs on (on PostgreSQL: once its metadata store
    has connected, which makes the schema)."""
    return async_blobs(open_blobs(settings.data_dir, settings))


@dataclass(frozen=True, slots=True)
class Stores:
    meta: MetaStore
    blobs: BlobStore
    limiter: RateLimiter | None  # None: no rate limit configured


def open_stores(settings: Settings, *, limited: bool = True) -> Stores:
    """What a server worker process runs on: the async interfaces. Its writes belong to
    a new session (see oortgate.sessions; the server heartbeats it). ``limited``: with
    the rate limiter (a tool that serves no requests goes without)."""
    box = SecretBox.from_env()
    limiter = open_limiter(settings) if limited else None
    if settings.metadata_url:
        # The worker's session is opened when the store first connects (in the worker's
        # event loop), then handed to its blob store (temp files are the session's).
        blob_store = worker_blobs(settings)
        meta = open_postgres(settings.metadata_url, box, on_session=blob_store.use_session,
                             cache_lookups=True)  # fmt: skip
        return Stores(meta, blob_store, limiter)
    writer = open_meta(settings.data_dir, box)
    session_id = writer.open_session(socket.gethostname(), os.getpid())
    # Two connections: one for writes on the store's thread, one for point lookups on
    # the event loop (see AsyncSqliteMeta).
    meta = AsyncSqliteMeta(writer, open_meta(settings.data_dir, box))
    return Stores(meta, worker_blobs(settings, session_id), limiter)


def async_blobs(blobs: Blobs) -> BlobStore:
    """The async BlobStore over what open_blobs opened (a router over one per tier)."""
    if isinstance(blobs, LocalTiers):
        return TieredBlobs(AsyncLocalBlobs(blobs.standard), AsyncLocalBlobs(blobs.archive))
    return AsyncLocalBlobs(blobs)


async def open_migration_blobs(location: DirectoryBlobs | RadosBlobs) -> BlobStore:
    """A blob store as `admin migrate-blobs` copies from or into it: a directory as it is
    (no session, no sweep), or a RADOS pool; ConnectionError when the pool cannot be
    reached."""
    if isinstance(location, DirectoryBlobs):
        return AsyncLocalBlobs(LocalBlobStore(location.path))
    from oortgate.storage.rados_blobs import RadosUnavailable, open_rados_blobs

    conf = location.conf or Path("/etc/ceph/ceph.conf")  # librados' default
    try:
        return await open_rados_blobs(location.pool, conf, location.client_id or "admin")
    except RadosUnavailable as exc:
        raise ConnectionError(str(exc)) from None


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
                            settings.rate_limit_fallback, local,
                            timeout=settings.rate_limit_timeout)  # fmt: skip
