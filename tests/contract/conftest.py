"""The contract suite: one set of tests for every implementation of the async store
interfaces (``MetaStore``, ``BlobStore``). A new backend adds its factory below; the
tests themselves name no implementation.

Tests here are coroutines (``async def``): each runs in its own event loop, with the
stores built over a fresh temporary directory.
"""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from oortgate import stores
from oortgate.config import Settings, load
from oortgate.endpoints import ARCHIVE
from oortgate.meta.base import MetaStore
from oortgate.meta.sqlite_async import AsyncSqliteMeta
from oortgate.storage.base import BlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from oortgate.storage.tiered import TieredBlobs, TieredLocalBlobs
from tests import ceph_cluster


def _sqlite(data_dir: Path) -> MetaStore:
    # Two connections, as a server worker has: writes on the store's thread, lookups inline.
    return AsyncSqliteMeta(stores.open_meta(data_dir), stores.open_meta(data_dir))


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
    assert isinstance(opened, TieredLocalBlobs)
    return _ArchiveByDefault(AsyncLocalBlobs(opened.standard), AsyncLocalBlobs(opened.archive))


def _rados(data_dir: Path) -> BlobStore:
    """On this run's private cluster (tests/ceph_cluster.py), in a namespace of its own."""
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    from oortgate.storage.rados_blobs import open_rados_blobs

    cluster = ceph_cluster.shared_cluster()
    namespace = f"test-{uuid.uuid4().hex}"
    return asyncio.run(open_rados_blobs(cluster.pool, cluster.conf, cluster.client, namespace))


META_STORES: dict[str, Callable[[Path], MetaStore]] = {"sqlite": _sqlite}
BLOB_STORES: dict[str, Callable[[Path], BlobStore]] = {
    "local": _local,
    "rados": _rados,
    "tiered-standard": _tiered,
    "tiered-archive": _tiered_archive,
}


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run a coroutine test to completion in a new event loop."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    asyncio.run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True


@pytest.fixture(params=sorted(META_STORES))
def meta_kind(request: Any) -> str:
    return str(request.param)


@pytest.fixture
def meta(meta_kind: str, tmp_path: Path) -> Iterator[MetaStore]:
    store = META_STORES[meta_kind](tmp_path)
    yield store
    asyncio.run(store.close())


@pytest.fixture
def peer(meta_kind: str, tmp_path: Path, meta: MetaStore) -> Iterator[MetaStore]:
    """A second store on the same data as ``meta``: another worker or gateway."""
    store = META_STORES[meta_kind](tmp_path)
    yield store
    asyncio.run(store.close())


@pytest.fixture(params=sorted(BLOB_STORES))
def blobs(request: Any, tmp_path: Path) -> Iterator[BlobStore]:
    store = BLOB_STORES[request.param](tmp_path)
    yield store
    asyncio.run(store.close())
