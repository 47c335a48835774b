import asyncio
import errno
import multiprocessing
import os
from pathlib import Path
from typing import Any

from oortgate.ratelimit import SharedRateLimiter
from oortgate.ratelimit_base import RateLimiter


def test_steady_rate_and_burst(tmp_path: Path) -> None:
    limiter = SharedRateLimiter(tmp_path / "rl")
    admitted = sum(limiter.take_at("k", 100, 20, now=1000.0) == 0 for _ in range(50))
    assert admitted == 20  # the burst, all at one instant
    # Over the next 2 seconds, asking 400 times: the rate's worth gets through.
    times = [1000.0 + i * 0.005 for i in range(1, 401)]
    admitted = sum(limiter.take_at("k", 100, 20, now=t) == 0 for t in times)
    assert 195 <= admitted <= 205


def test_refusal_says_how_long_to_wait(tmp_path: Path) -> None:
    limiter = SharedRateLimiter(tmp_path / "rl")
    assert limiter.take_at("k", 10, 1, now=5.0) == 0
    wait = limiter.take_at("k", 10, 1, now=5.0)
    assert 0.09 < wait <= 0.1
    assert limiter.take_at("k", 10, 1, now=5.1) == 0


def test_keys_are_independent_and_zero_rate_is_unlimited(tmp_path: Path) -> None:
    limiter = SharedRateLimiter(tmp_path / "rl", slots=16)
    for _ in range(5):
        limiter.take_at("a", 1, 1, now=0.0)
    assert limiter.take_at("b", 1, 1, now=0.0) == 0
    assert all(limiter.take_at("c", 0, 0, now=0.0) == 0 for _ in range(100))
    # Many identities in a tiny table: idle slots are reused, nobody is wrongly refused.
    assert all(limiter.take_at(f"user{i}", 1, 1, now=100.0 + i * 10) == 0 for i in range(200))


def _hammer(path: str, out: "multiprocessing.Queue[int]") -> None:
    limiter = SharedRateLimiter(Path(path))
    out.put(sum(limiter.take_at("shared", 100, 10, now=50.0) == 0 for _ in range(200)))


def test_processes_share_one_bucket(tmp_path: Path) -> None:
    path = str(tmp_path / "rl")
    SharedRateLimiter(Path(path))
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_hammer, args=(path, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert sum(queue.get() for _ in procs) == 10  # one burst for all four processes


def test_table_blocks_allocated_up_front(tmp_path: Path) -> None:
    """A sparse table page written on a full disk would kill the worker (SIGBUS)."""
    limiter = SharedRateLimiter(tmp_path / "rl")
    info = (tmp_path / "rl").stat()
    assert info.st_blocks * 512 >= info.st_size > 0
    asyncio.run(limiter.close())


def test_full_disk_falls_back_to_process_memory(
    tmp_path: Path, monkeypatch: Any, caplog: Any
) -> None:
    def no_space(fd: int, offset: int, length: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    limiter = SharedRateLimiter(tmp_path / "rl", slots=16)
    assert limiter.take_at("a", rate=1, burst=1, now=0.0) == 0.0
    assert limiter.take_at("a", rate=1, burst=1, now=0.0) > 0
    assert "rate limit holds per worker process" in caplog.text  # the operator is told
    asyncio.run(limiter.close())


def test_async_take_is_the_rate_limiter_interface(tmp_path: Path) -> None:
    limiter: RateLimiter = SharedRateLimiter(tmp_path / "rl")

    async def two() -> list[float]:
        return [await limiter.take("k", 1, 1), await limiter.take("k", 1, 1)]

    first, second = asyncio.run(two())
    assert first == 0.0 and 0 < second <= 1.0  # the second waits for the next token
    asyncio.run(limiter.close())
