"""Redis for the tests: the one at ``OORTGATE_TEST_REDIS_URL`` or 127.0.0.1:6379 if it
answers (CI and these machines run one), else a private ``redis-server`` on a free port
in a temporary directory (Debian's ``redis-server``; ``make test`` installs it if missing).
Tests that stop Redis always get a private one.

Parallel xdist workers must not share keys: each test gets its own key prefix
(``unique_prefix``) or, for a whole server, its own database number (``unique_db_url``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

ENV_URL = "OORTGATE_TEST_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"
DATABASES = 16  # Redis's default; database 0 holds the counter that hands the others out


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), 1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateRedis:
    """A redis-server of our own (nothing on disk), which a test may stop and restart."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="oortgate-redis-"))
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing: run `make redis-deps` (or make test)")
        self.proc = subprocess.Popen(  # the same port each time: a restart is "Redis back"
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--databases", str(DATABASES),
             "--enable-debug-command", "local"],  # DEBUG SLEEP: a Redis too busy to answer
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not _answers(self.url):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    try:
        yield server
    finally:
        server.close()


_started: PrivateRedis | None = None


def redis_url() -> str:
    """A running Redis for this test process (started once, if none answers)."""
    global _started
    url = os.environ.get(ENV_URL) or DEFAULT_URL
    if _answers(url):
        return url
    if _started is None:
        _started = PrivateRedis()
        _started.start()
        atexit.register(_started.close)
    return _started.url


def unique_prefix() -> str:
    return f"oortgate-test:{uuid.uuid4().hex[:12]}:"


def unique_db_url() -> str:
    """The shared Redis with a database number of its own (1..15, handed out in turn by
    a counter in database 0): servers that use the default key names do not collide."""
    import redis

    url = redis_url()
    client = redis.Redis.from_url(url)
    try:
        n = int(client.incr("oortgate-test:next-db"))
    finally:
        client.close()
    parts = urlsplit(url)
    return parts._replace(path=f"/{1 + n % (DATABASES - 1)}").geturl()
