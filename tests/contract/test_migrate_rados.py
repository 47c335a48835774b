"""`migrate-blobs` into a Ceph RADOS pool (this run's private cluster, a namespace of the
test's own): blobs of a local store, plain and compressed, one over a stripe, arrive under
the same ids byte for byte; a rerun skips them; a blob the metadata names but the source
lacks, or holds with other bytes, is reported and not committed."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

pytest.importorskip("rados", reason="python3-rados is not in the venv (make ceph-deps)")

from oortgate import integrity
from oortgate.migrate_blobs import BlobRef, migrate_blobs
from oortgate.migrate_meta import Quiet
from oortgate.storage.base import BlobNotFound, BlobStore
from oortgate.storage.local import LocalBlobStore
from oortgate.storage.local_async import AsyncLocalBlobs
from oortgate.storage.rados_blobs import open_rados_blobs
from oortgate.storage.rados_layout import STRIPE
from tests import ceph_cluster


async def _put(blobs: BlobStore, data: bytes, compressed: bool = False) -> BlobRef:
    writer = await blobs.open_writer(blobs.new_blob_id(compressed))
    for start in range(0, len(data), 1 << 20):
        await writer.write(data[start : start + (1 << 20)])
    await writer.commit()
    return BlobRef(writer.blob_id, len(data), integrity.of(data))


async def _read(blobs: BlobStore, ref: BlobRef) -> bytes:
    return b"".join([c async for c in await blobs.read(ref.blob_id, 0, ref.size, 1 << 20)])


async def test_blobs_move_into_a_pool_under_their_ids(tmp_path: Path) -> None:
    if not ceph_cluster.ceph_installed():
        pytest.skip("Ceph is not installed here (make ceph-deps installs it)")
    cluster = ceph_cluster.shared_cluster()
    source = AsyncLocalBlobs(LocalBlobStore(tmp_path))
    target = await open_rados_blobs(cluster.pool, cluster.conf, cluster.client,
                                    f"test-{uuid.uuid4().hex}")  # fmt: skip
    try:
        big = os.urandom(STRIPE + 12345)
        refs = [await _put(source, big), await _put(source, b"squeeze " * 5000, compressed=True),
                await _put(source, b"")]  # fmt: skip
        wrong = await _put(source, b"these bytes")
        lost = BlobRef("ab" * 16, 3, integrity.of(b"abc"))
        tampered = BlobRef(wrong.blob_id, wrong.size, integrity.of(b"other bytes"))
        first = await migrate_blobs(iter([*refs, lost, tampered]), source, target, Quiet())
        assert first.copied == 3 and first.skipped == 0 and first.blobs == 5
        assert len(first.problems) == 2 and "BlobNotFound" in first.problems[0], first.problems
        for ref in refs:
            assert await _read(target, ref) == await _read(source, ref)
        with pytest.raises(BlobNotFound):
            await target.size(wrong.blob_id)  # bytes that do not match were never committed
        again = await migrate_blobs(iter(refs), source, target, Quiet())
        assert (again.copied, again.skipped, again.problems) == (0, 3, [])
    finally:
        await target.close()
        await source.close()
