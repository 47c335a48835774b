"""A quick look at the RADOS blob store's own throughput (no HTTP): small-blob writes per
second at concurrency 1 and 16, and one 64 MiB blob written and read, in MB/s.

    python -m bench.rados_quick [--conf ceph.conf --pool POOL --client client.admin]

Without --conf it boots the tests' private single-node cluster (tests/ceph_cluster.py,
torn down when this exits). Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from pathlib import Path

from oortgate.storage.rados_blobs import RadosBlobStore, open_rados_blobs

MIB = 1 << 20
SMALL = 4096


async def _small_writes(blobs: RadosBlobStore, concurrency: int, seconds: float) -> float:
    body = os.urandom(SMALL)
    done = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            writer = await blobs.open_writer(blobs.new_blob_id())
            await writer.write(body)
            await writer.commit()
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.monotonic() - started)


async def _big(blobs: RadosBlobStore, size: int) -> tuple[float, float]:
    piece = os.urandom(MIB)
    started = time.monotonic()
    writer = await blobs.open_writer(blobs.new_blob_id())
    for _ in range(size // MIB):
        await writer.write(piece)
    await writer.commit()
    write_seconds = time.monotonic() - started
    started = time.monotonic()
    read = 0
    async for chunk in await blobs.read(writer.blob_id, 0, size, 256 * 1024):
        read += len(chunk)
    assert read == size
    return size / write_seconds / 1e6, size / (time.monotonic() - started) / 1e6


async def main(conf: Path, pool: str, client: str, seconds: float) -> None:
    blobs = await open_rados_blobs(pool, conf, client, f"bench-{uuid.uuid4().hex}")
    try:
        for concurrency in (1, 16):
            rate = await _small_writes(blobs, concurrency, seconds)
            print(json.dumps({"workload": f"4 KiB blob writes, concurrency {concurrency}",
                              "per_second": round(rate)}))  # fmt: skip
        write_mbs, read_mbs = await _big(blobs, 64 * MIB)
        print(json.dumps({"workload": "one 64 MiB blob", "write_MBps": round(write_mbs),
                          "read_MBps": round(read_mbs)}))  # fmt: skip
    finally:
        await blobs.close()


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--conf", type=Path)
    parser.add_argument("--pool", default="oortgate-test")
    parser.add_argument("--client", default="client.admin")
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    conf, pool, client = args.conf, args.pool, args.client
    if conf is None:
        from tests import ceph_cluster

        started = time.monotonic()
        cluster = ceph_cluster.shared_cluster()
        print(json.dumps({"cluster_boot_seconds": round(time.monotonic() - started, 1)}))
        conf, pool, client = cluster.conf, cluster.pool, cluster.client
    asyncio.run(main(conf, pool, client, args.seconds))


if __name__ == "__main__":
    cli()
