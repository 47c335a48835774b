"""The contract suite: one set of tests for every implementation of the async store
interfaces (``MetaStore``, ``BlobStore``). A new backend adds its factory below; the
tests themselves name no implementation.

Tests here are coroutines (``async def``): each runs in its own event loop. Metadata
stores are opened inside that loop (a PostgreSQL pool is bound to the loop it runs in):
the ``meta`` and ``peer`` fixtures hand the test runner an ``Opener``, which it awaits
before the test and closes after it. SQLite stores live in a fresh temporary directory;
PostgreSQL ones in one ICU-collated database per test process, emptied before each test.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from oortgate import stores
from oortgate.config import Settings, load
from oortgate.endpoints import ARCHIVE
from oortgate.meta.base import MetaStore
from oortgate.meta.pg_store import PgMetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.meta.sqlite_integrity import open_read_only
from oortgate.meta.sqlite_refcounts import reference_drift
from oortgate.secretbox import SecretBox
from oortgate.storage.base import BlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from oortgate.storage.tiered import TieredBlobs
from tests import ceph_cluster, pg_service


@dataclass(frozen=True, slots=True)
class Place:
    """Where a test's metadata lives: a data directory (SQLite), a database (PostgreSQL)."""

    data_dir: Path
    pg_url: str = ""


async def _sqlite(place: Place, box: SecretBox | None = None) -> MetaStore:
    # Two connections, as a server worker has: writes on the store's thread, lookups inline.
    data_dir = place.data_dir
    return AsyncSqliteMeta(stores.open_meta(data_dir, box), stores.open_meta(data_dir, box))


async def _postgres(place: Place, box: SecretBox | None = None) -> MetaStore:
    # As a server worker has it: keys and buckets cached (see oortgate.meta.pg_lookups).
    box = box if box is not None else SecretBox.from_env()
    return PgMetaStore(place.pg_url, box, cache_lookups=True)


def _local(data_dir: Path) -> BlobStore:
    return stores.async_blobs(stores.open_blobs(data_dir))


def _two_tier_settings(data_dir: Path) -> Settings:
    """The Archive tier's blobs in a directory of their own (file://)."""
    archive = data_dir / "archive-blobs"
    archive.mkdir()
    return load({"data_dir": str(data_dir), "archive_blob_url": archive.as_uri()}, None, {})


class _ArchiveByDefault(TieredBlobs):
    """The router with the Archive tier as the default of new ids: the contract's
    blobs go through the archive route (prefixed ids) too."""

    def new_blob_id(self, compressed: bool = False, tier: str = ARCHIVE) -> str:
        return super().new_blob_id(compressed, tier)


def _tiered(data_dir: Path) -> BlobStore:
    """One store per tier, the contract's blobs in the standard one."""
    return stores.async_blobs(stores.open_blobs(data_dir, _two_tier_settings(data_dir)))


def _tiered_archive(data_dir: Path) -> BlobStore:
    opened = stores.open_blobs(data_dir, _two_tier_settings(data_dir))
    assert isinstance(opened, stores.LocalTiers)
    return _ArchiveByDefault(AsyncLocalBlobs(opened.standard), AsyncLocalBlobs(opened.archive))


def _rados(data_dir: Path) -> BlobStore:
    """On this run's private cluster (tests/ceph_cluster.py), in a namespace of its own."""
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    from oortgate.storage.rados_blobs import open_rados_blobs

    cluster = ceph_cluster.shared_cluster()
    namespace = f"test-{uuid.uuid4().hex}"
    return asyncio.run(open_rados_blobs(cluster.pool, cluster.conf, cluster.client, namespace))


def _rados_worker(data_dir: Path) -> BlobStore:
    """The store a server worker holds: built from its URL, connected on first use."""
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    from oortgate.store_urls import RadosBlobs

    cluster = ceph_cluster.shared_cluster()
    client = cluster.client.removeprefix("client.")
    where = RadosBlobs(cluster.pool, cluster.conf, client, f"test-{uuid.uuid4().hex}")
    return stores.open_rados(where)


# (place, box: the SecretBox that seals secrets, None: $OORTGATE_SECRETS_KEY's)
META_STORES: dict[str, Callable[..., Awaitable[MetaStore]]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}
BLOB_STORES: dict[str, Callable[[Path], BlobStore]] = {
    "local": _local,
    "rados": _rados,
    "rados-worker": _rados_worker,
    "tiered-standard": _tiered,
    "tiered-archive": _tiered_archive,
}


class Opener:
    """A metadata store to open in the test's own event loop (see pytest_pyfunc_call)."""

    def __init__(self, kind: str, place: Place) -> None:
        self.kind, self.place = kind, place

    async def __call__(self) -> MetaStore:
        return await META_STORES[self.kind](self.place)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a coroutine test to completion in a new event loop, its stores opened in it."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    args = {name: pyfuncitem.funcargs[name] for name in names}

    async def run() -> None:
        opened: list[MetaStore] = []
        try:
            for name, value in args.items():
                if isinstance(value, Opener):
                    store = await value()
                    args[name] = store
                    opened.append(store)
            await pyfuncitem.obj(**args)
        finally:
            for store in reversed(opened):
                await store.close()

    asyncio.run(run())
    return True


_TABLES = (
    "users, access_keys, buckets, objects, object_parts, uploads, upload_parts,"
    " completed_uploads, blobs, inline_blobs, pending_blobs, garbage, sessions, read_leases,"
    " leases, object_versions, object_version_parts, object_locks"
)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """This test process's database (migrated by the first store that connects)."""
    url = pg_service.create_database("contract")
    yield url
    pg_service.drop_database(url)


def _empty(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        exists = conn.execute("SELECT to_regclass('users') IS NOT NULL").fetchone()
        if exists and exists[0]:
            conn.execute(f"TRUNCATE {_TABLES} RESTART IDENTITY CASCADE".encode())


@pytest.fixture(params=sorted(META_STORES))
def meta_kind(request: Any) -> str:
    return str(request.param)


@pytest.fixture
def place(meta_kind: str, tmp_path: Path, request: Any) -> Place:
    if meta_kind != "postgres":
        return Place(tmp_path)
    url: str = request.getfixturevalue("pg_database")
    _empty(url)
    return Place(tmp_path, url)


@pytest.fixture
def meta(meta_kind: str, place: Place) -> Opener:
    return Opener(meta_kind, place)


@pytest.fixture
def peer(meta_kind: str, place: Place, meta: Opener) -> Opener:
    """A second store on the same data as ``meta``: another worker or gateway."""
    return Opener(meta_kind, place)


@pytest.fixture
def open_store(meta_kind: str, place: Place) -> Callable[[], Awaitable[MetaStore]]:
    """Opens more stores on the same data (in the test: it closes what it opens)."""
    return lambda: META_STORES[meta_kind](place)


@pytest.fixture
def open_sealed(meta_kind: str, place: Place) -> Callable[[SecretBox], Awaitable[MetaStore]]:
    """Opens a store on the same data that seals secrets with this box."""
    return lambda box: META_STORES[meta_kind](place, box)


# Every blob whose count differs from the rows referencing it (PostgreSQL's version of
# oortgate.meta.sqlite_refcounts.reference_drift).
_PG_DRIFT = """
WITH refs AS (
    SELECT blob_id FROM objects WHERE parts_count = 0 AND blob_id <> '' AND left(blob_id, 1) <> 'i'
    UNION ALL SELECT blob_id FROM object_parts
    UNION ALL SELECT blob_id FROM upload_parts
    UNION ALL SELECT blob_id FROM object_versions
        WHERE parts_count = 0 AND blob_id <> '' AND left(blob_id, 1) <> 'i'
    UNION ALL SELECT blob_id FROM object_version_parts),
counted AS (SELECT blob_id, count(*)::integer AS n FROM refs GROUP BY blob_id)
SELECT coalesce(b.blob_id, c.blob_id), b.refs, coalesce(c.n, 0)
FROM blobs b FULL JOIN counted c ON c.blob_id = b.blob_id
WHERE b.refs IS DISTINCT FROM c.n
"""


@pytest.fixture
def drift(meta_kind: str, place: Place) -> Callable[[], list[Any]]:
    """Reference counts that differ from the references (empty: all exact)."""

    def check() -> list[Any]:
        if meta_kind == "postgres":
            with psycopg.connect(place.pg_url, autocommit=True) as conn:
                return list(conn.execute(_PG_DRIFT.encode()).fetchall())
        db = open_read_only(stores.db_path(place.data_dir))
        try:
            return list(reference_drift(db))
        finally:
            db.close()

    return check


@pytest.fixture(params=sorted(BLOB_STORES))
def blobs(request: Any, tmp_path: Path) -> Iterator[BlobStore]:
    store = BLOB_STORES[request.param](tmp_path)
    yield store
    asyncio.run(store.close())
