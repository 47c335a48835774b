"""What the RADOS blob store adds to the contract (test_blob_contract runs on it too):
stripes, ranges across their boundaries, a writer killed before its commit, bounded
memory, damage, and a clear error when the cluster or the pool cannot be reached. On
this run's private cluster (tests/ceph_cluster.py), each test in a namespace of its own."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Without the binding (a venv that `make ceph-deps` did not link) these tests cannot run.
pytest.importorskip("rados", reason="python3-rados is not in the venv (make ceph-deps)")

import rados

from oortgate import gc
from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, ObjectRecord
from oortgate.storage.base import BlobDamaged, BlobNotFound
from oortgate.storage.rados_blobs import (
    RadosBlobStore,
    RadosUnavailable,
    open_rados_blobs,
)
from oortgate.storage.rados_layout import MAX_IN_FLIGHT, READ_AHEAD, STRIPE, namespaces
from tests import ceph_cluster

MiB = 1 << 20
CHUNK = 64 * 1024


@pytest.fixture
def cluster() -> ceph_cluster.Cluster:
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    return ceph_cluster.shared_cluster()


@pytest.fixture
def namespace() -> str:
    return f"test-{uuid.uuid4().hex}"


@pytest.fixture
def raw(cluster: ceph_cluster.Cluster) -> Iterator[rados.Ioctx]:
    """A handle of the test's own, to look at (and damage) the objects directly."""
    handle = rados.Rados(conffile=str(cluster.conf), name=cluster.client)
    handle.connect(timeout=10)
    ioctx = handle.open_ioctx(cluster.pool)
    yield ioctx
    ioctx.close()
    handle.shutdown()


async def _open(cluster: ceph_cluster.Cluster, namespace: str) -> RadosBlobStore:
    return await open_rados_blobs(cluster.pool, cluster.conf, cluster.client, namespace)


def _objects(ioctx: rados.Ioctx, namespace: str) -> list[str]:
    ioctx.set_namespace(namespace)
    return sorted(obj.key for obj in ioctx.list_objects())


async def _store(blobs: RadosBlobStore, data: bytes, compressed: bool = False) -> str:
    writer = await blobs.open_writer(blobs.new_blob_id(compressed))
    for start in range(0, len(data), 100_000):
        await writer.write(data[start : start + 100_000])
    await writer.commit()
    return writer.blob_id


async def _read(blobs: RadosBlobStore, blob_id: str, offset: int, length: int) -> bytes:
    return b"".join([chunk async for chunk in await blobs.read(blob_id, offset, length, CHUNK)])


async def test_a_20_mib_blob_lies_in_stripes_under_one_head(
    cluster: ceph_cluster.Cluster, namespace: str, raw: rados.Ioctx
) -> None:
    blobs = await _open(cluster, namespace)
    data = os.urandom(20 * MiB + 3)
    blob_id = await _store(blobs, data)
    heads, stripes, markers = namespaces(namespace)
    assert _objects(raw, heads) == [blob_id]
    assert _objects(raw, stripes) == sorted(f"{blob_id}.{n}" for n in range(6))
    assert _objects(raw, markers) == []  # committed: no marker left
    raw.set_namespace(stripes)
    assert raw.stat(f"{blob_id}.0")[0] == STRIPE and raw.stat(f"{blob_id}.5")[0] == 3
    assert await _read(blobs, blob_id, 0, len(data)) == data
    assert await blobs.size(blob_id) == len(data)
    await blobs.delete(blob_id)
    assert _objects(raw, heads) == _objects(raw, stripes) == []
    await blobs.close()


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "compressed"])
async def test_ranges_across_stripe_boundaries(
    cluster: ceph_cluster.Cluster, namespace: str, compressed: bool
) -> None:
    blobs = await _open(cluster, namespace)
    # Compressible but not trivially: the framed blob spans stripes too.
    data = os.urandom(6 * MiB) + bytes(range(256)) * (8 * MiB // 256)
    blob_id = await _store(blobs, data, compressed)
    for offset, length in [
        (STRIPE - 1, 2),  # the last byte of one stripe and the first of the next
        (STRIPE - 5, STRIPE + 10),  # three stripes
        (2 * STRIPE, STRIPE),  # exactly one stripe
        (3 * STRIPE - 70_000, 140_000),  # a chunk straddling the boundary
        (len(data) - 10, 10),
        (0, len(data)),
    ]:
        assert await _read(blobs, blob_id, offset, length) == data[offset : offset + length]
    with pytest.raises(BlobDamaged):
        await _read(blobs, blob_id, len(data) - 1, 2)
    await blobs.close()


_CRASHING_WRITER = """
import asyncio, os, signal, sys
from pathlib import Path
from oortgate.storage.rados_blobs import open_rados_blobs

async def main() -> None:
    blobs = await open_rados_blobs(sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4])
    await blobs.use_session(sys.argv[5])
    writer = await blobs.open_writer(sys.argv[6])
    # Six stripes sent: starting the fifth and sixth waited for the first two to land.
    for _ in range(26):
        await writer.write(os.urandom(1 << 20))
    os.kill(os.getpid(), signal.SIGKILL)  # the gateway dies before its commit

asyncio.run(main())
"""


async def test_a_writer_killed_before_its_commit_leaves_no_blob(
    cluster: ceph_cluster.Cluster, namespace: str, raw: rados.Ioctx
) -> None:
    blobs = await _open(cluster, namespace)
    dead, alive = "0123456789abcdef", "fedcba9876543210"
    blob_id = blobs.new_blob_id()
    args = [cluster.pool, str(cluster.conf), cluster.client, namespace, dead, blob_id]
    child = subprocess.run([sys.executable, "-c", textwrap.dedent(_CRASHING_WRITER), *args],
                           cwd=Path(__file__).parents[2], capture_output=True)  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    _, stripes, markers = namespaces(namespace)
    assert len(_objects(raw, stripes)) >= 2  # its stripes are there...
    with pytest.raises(BlobNotFound):  # ...but no blob
        await blobs.read(blob_id, 0, 1, CHUNK)
    assert [b async for b in blobs.iter_blob_ids()] == []
    # A live session's upload in progress is not touched by the sweep of the dead one.
    await blobs.use_session(alive)
    writer = await blobs.open_writer(blobs.new_blob_id())
    await writer.write(os.urandom(STRIPE + 1))
    assert await blobs.temp_sessions() == sorted([dead, alive])
    assert await blobs.remove_temp_files([dead]) == 1
    assert _objects(raw, markers) == [f"{alive}.{writer.blob_id}"]
    assert _objects(raw, stripes) == [f"{writer.blob_id}.0"]
    await writer.commit()
    assert _objects(raw, markers) == []
    assert await _read(blobs, writer.blob_id, STRIPE, 1) != b""
    await blobs.close()


async def test_abort_removes_the_stripes_and_the_marker(
    cluster: ceph_cluster.Cluster, namespace: str, raw: rados.Ioctx
) -> None:
    blobs = await _open(cluster, namespace)
    writer = await blobs.open_writer(blobs.new_blob_id())
    for _ in range(10):
        await writer.write(os.urandom(MiB))
    assert _objects(raw, namespaces(namespace)[1]) != []
    await writer.abort()
    assert all(_objects(raw, name) == [] for name in namespaces(namespace))
    await blobs.close()


async def test_streaming_64_mib_holds_a_few_stripes_of_memory(
    cluster: ceph_cluster.Cluster, namespace: str
) -> None:
    blobs = await _open(cluster, namespace)
    piece = os.urandom(MiB)
    tracemalloc.start()
    try:
        writer = await blobs.open_writer(blobs.new_blob_id())
        for _ in range(64):
            await writer.write(piece)  # the network hands over new buffers: same size
        await writer.commit()
        _, write_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest = hashlib.sha256()
        async for chunk in await blobs.read(writer.blob_id, 0, 64 * MiB, CHUNK):
            digest.update(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = hashlib.sha256()
    for _ in range(64):
        expected.update(piece)
    assert digest.digest() == expected.digest()
    print(f"peak traced memory: write {write_peak / MiB:.1f} MiB, read {read_peak / MiB:.1f} MiB")
    assert write_peak < 24 * MiB, write_peak
    assert read_peak < 24 * MiB, read_peak
    await blobs.close()


async def test_a_missing_or_short_stripe_is_damage(
    cluster: ceph_cluster.Cluster, namespace: str, raw: rados.Ioctx
) -> None:
    blobs = await _open(cluster, namespace)
    data = os.urandom(3 * STRIPE)
    cut, lost = await _store(blobs, data), await _store(blobs, data)
    raw.set_namespace(namespaces(namespace)[1])
    raw.write_full(f"{cut}.1", data[STRIPE : STRIPE + 10])
    raw.remove_object(f"{lost}.2")
    for blob_id in (cut, lost):
        chunks = await blobs.read(blob_id, 0, len(data), CHUNK)
        got = bytearray()
        with pytest.raises(BlobDamaged):
            async for chunk in chunks:
                got += chunk
        assert bytes(got) == data[: len(got)]  # what came before the damage is right
    raw.set_namespace(namespaces(namespace)[0])
    raw.write_full(cut, b"not a head")
    with pytest.raises(BlobDamaged):
        await blobs.read(cut, 0, 1, CHUNK)
    await blobs.close()


async def test_an_unreachable_cluster_or_pool_is_a_clear_error_at_start(
    cluster: ceph_cluster.Cluster, tmp_path: Path
) -> None:
    with pytest.raises(RadosUnavailable, match=r"rados://no-such-pool\?conf=.*does not exist"):
        await open_rados_blobs("no-such-pool", cluster.conf, cluster.client)
    with pytest.raises(RadosUnavailable, match="no Ceph configuration file"):
        await open_rados_blobs(cluster.pool, tmp_path / "missing.conf", cluster.client)
    # A monitor that does not answer: refused within the connect timeout, not hung.
    with socket_bound() as port:
        conf = _dead_monitor_conf(cluster, tmp_path, port)
        started = time.monotonic()
        with pytest.raises(RadosUnavailable, match=rf"rados://{cluster.pool}\?conf={conf}"):
            await open_rados_blobs(cluster.pool, conf, cluster.client, connect_timeout=2)
        assert time.monotonic() - started < 10


def _dead_monitor_conf(cluster: ceph_cluster.Cluster, tmp_path: Path, port: int) -> Path:
    """The cluster's configuration with its monitor moved to ``port``."""
    conf = tmp_path / "ceph.conf"
    text = cluster.conf.read_text()
    start = text.index("mon_host = ")
    end = text.index("\n", start)
    conf.write_text(f"{text[:start]}mon_host = 127.0.0.1:{port}{text[end:]}")
    return conf


async def test_a_workers_store_answers_unavailable_while_the_cluster_does_not(
    cluster: ceph_cluster.Cluster, tmp_path: Path
) -> None:
    """The store a worker holds connects on first use: while that fails, every call is a
    StoreUnavailable (503 with Retry-After), and readiness says 503 too."""
    from oortgate import stores
    from oortgate.config import load
    from oortgate.errors import StoreUnavailable
    from oortgate.http.health import health_response
    from oortgate.ops.context import Services
    from oortgate.storage.rados_lazy import LazyRadosBlobs
    from oortgate.store_urls import RadosBlobs

    with socket_bound() as port:
        where = RadosBlobs(cluster.pool, _dead_monitor_conf(cluster, tmp_path, port), "admin")
        blobs = LazyRadosBlobs(where, connect_timeout=2)
        with pytest.raises(StoreUnavailable, match=rf"rados://{cluster.pool}\?conf="):
            await blobs.size("0" * 32)
        with pytest.raises(StoreUnavailable):  # within a second of the failure: at once
            await blobs.open_writer(blobs.new_blob_id())
        settings = load({"data_dir": str(tmp_path / "data")}, None, {})
        settings.data_dir.mkdir()
        services = Services(settings, stores.open_tool_meta(settings), blobs)
        try:
            ready = await health_response("/_health/ready", services)
            assert ready is not None and ready.status == 503
            assert isinstance(ready.body, bytes)
            assert ready.body.startswith(b"blob store unavailable: ")
        finally:
            await services.close()
    # The same store on the real cluster serves once it answers.
    working = LazyRadosBlobs(RadosBlobs(cluster.pool, cluster.conf, "admin", "lazy-ok"))
    await working.ping()
    await working.close()


@contextlib.contextmanager
def socket_bound() -> Iterator[int]:
    """A port nothing answers on (bound, never listening) while the block runs."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))
        yield int(bound.getsockname()[1])


async def test_stripes_overlap_but_stay_within_the_in_flight_bound(
    cluster: ceph_cluster.Cluster, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to 4 stripe writes (and 2 reads ahead) at once: concurrent, never more."""
    from oortgate.storage import rados_cluster

    started: list[asyncio.Future[Any]] = []
    counts = {"max": 0}

    def counted(call: Any) -> Any:
        def wrapper(ioctx: rados.Ioctx, name: str, *args: Any) -> Any:
            future = call(ioctx, name, *args)
            if ioctx.get_namespace().endswith(".stripes"):
                started.append(future)
                in_flight = sum(not f.done() for f in started)
                counts["max"] = max(counts["max"], in_flight)
            return future

        return wrapper

    blobs = await _open(cluster, namespace)
    data = os.urandom(40 * MiB)
    monkeypatch.setattr(rados_cluster, "write_full", counted(rados_cluster.write_full))
    blob_id = await _store(blobs, data)
    assert 2 <= counts["max"] <= MAX_IN_FLIGHT, counts
    counts["max"] = 0
    monkeypatch.setattr(rados_cluster, "read", counted(rados_cluster.read))
    assert await _read(blobs, blob_id, 0, len(data)) == data
    assert counts["max"] == READ_AHEAD, counts
    await blobs.close()


def _age(raw: rados.Ioctx, namespace: str, blob_id: str, seconds: float) -> None:
    """Rewrite the head (same bytes) as if written ``seconds`` ago."""
    raw.set_namespace(namespace)
    head = raw.read(blob_id, 1 << 23)
    with rados.WriteOpCtx() as op:
        op.write_full(head)
        raw.operate_write_op(op, blob_id, mtime=int(time.time() - seconds))


async def test_the_orphan_sweep_removes_old_unknown_blobs_only(
    cluster: ceph_cluster.Cluster, namespace: str, raw: rados.Ioctx, meta: MetaStore
) -> None:
    """Heads no record knows of, last written over an hour ago, go (their stripes with
    them); a younger unknown one (another gateway's, its record not yet visible), an old
    one an object names and one still pending are spared."""
    blobs = await _open(cluster, namespace)
    try:
        await meta.open_session("writer", os.getpid())  # its pending mark is a live one's
        user = await meta.create_user("owner")
        bucket = await meta.create_bucket("orphans", user.id, "us-east-1", 10)
        named = await _store(blobs, b"named")
        await meta.add_pending_blob(named)
        await meta.put_object(ObjectRecord(bucket.id, "k", BlobBody(named, 5), 5, "0" * 32, 1.0))
        pending = await _store(blobs, b"pending")
        await meta.add_pending_blob(pending)
        young = await _store(blobs, b"young")
        old = await _store(blobs, os.urandom(STRIPE + 1))  # a head and two stripes
        for blob_id in (named, pending, old):
            _age(raw, namespace, blob_id, 2 * 3600)
        counts = await gc.sweep(meta, blobs, grace=None)
        assert counts["orphans"] == 1
        assert sorted([b async for b in blobs.iter_blob_ids()]) == sorted([named, pending, young])
        assert _objects(raw, namespaces(namespace)[1]) == []  # old's stripes went with it
        assert await gc.sweep(meta, blobs, grace=None) == {**counts, "orphans": 0}
    finally:
        await blobs.close()
