"""The machine's own limits, measured in the same run as the servers.

MD5 and SHA-256 throughput (hashlib, one buffer), fsynced 4 KiB file creations per second
(create + write + fsync + close + rename), sequential write with fdatasync, and
single-stream TLS download throughput (from nginx, measured with the harness's client).
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from .context import MIB, Measured

CREATE_SECS = 2.0
CREATE_MAX = 200_000


def hash_rate(algo: str, nbytes: int) -> Measured:
    data = os.urandom(nbytes)
    best = float("inf")
    for _ in range(2):
        t0 = time.perf_counter()
        hashlib.new(algo, data).digest()
        best = min(best, time.perf_counter() - t0)
    return Measured(1, best, nbytes, [best])


def fsync_creates(directory: Path, seconds: float = CREATE_SECS) -> Measured:
    directory.mkdir(parents=True, exist_ok=True)
    block = os.urandom(4096)
    lat: list[float] = []
    start = time.perf_counter()
    deadline = start + seconds
    i = 0
    while time.perf_counter() < deadline and i < CREATE_MAX:
        t0 = time.perf_counter()
        tmp, final = directory / f".t{i}", directory / f"f{i}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, block)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, final)
        lat.append(time.perf_counter() - t0)
        i += 1
    elapsed = time.perf_counter() - start
    for j in range(i):
        os.unlink(directory / f"f{j}")
    return Measured(i, elapsed, i * 4096, lat)


def write_fdatasync(directory: Path, nbytes: int) -> Measured:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "seq.bin"
    chunk = os.urandom(8 * MIB)
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        left = nbytes
        while left > 0:
            left -= os.write(fd, chunk[: min(left, len(chunk))])
        os.fdatasync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - t0
    path.unlink()
    return Measured(1, elapsed, nbytes, [elapsed])
