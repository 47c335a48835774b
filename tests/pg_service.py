"""PostgreSQL for the tests: found, or started privately, and one fresh database per use.

The server is ``OORTGATE_TEST_PG_URL`` if set, else 127.0.0.1:5432 (user postgres, trust
auth); when neither answers, a private instance (initdb + pg_ctl from
/usr/lib/postgresql/*/bin, in a temp dir, on a free port) is started for this process and
stopped at exit. Each database is created with an ICU en-US default collation, as users'
databases often are: a key or name column missing ``COLLATE "C"`` sorts wrong here.
Tests that stop PostgreSQL start a ``PrivatePostgres`` of their own.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

ENV_URL = "OORTGATE_TEST_PG_URL"
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
_server: str | None = None
_names = itertools.count(1)


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() != 0:
        return args
    return ["runuser", "-u", "postgres", "--", *args]


class PrivatePostgres:
    """A PostgreSQL server of our own (initdb in a temp dir, a free port), which a test
    may stop and start again on the same port and data: "PostgreSQL restarted"."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("no PostgreSQL is installed (/usr/lib/postgresql): make pg-deps")
        self.bindir = Path(bins[-1]).parent
        self.root = Path(tempfile.mkdtemp(prefix="oortgate-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        self.port = _free_port()
        subprocess.run(
            _as_postgres([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres",
                          "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
            check=True, capture_output=True,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._ctl("-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: clients disconnected, a clean shutdown; ``immediate``: a crash."""
        self._ctl("-m", mode, "-w", "stop")

    def close(self) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data),
                                     "-m", "immediate", "stop"]), capture_output=True)  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    def _ctl(self, *args: str) -> None:
        subprocess.run(_as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args]),
                       check=True, capture_output=True)  # fmt: skip


def _start_private() -> str:
    server = PrivatePostgres()
    server.start()
    atexit.register(server.close)
    return server.url


def server_url() -> str:
    """A maintenance connection URL to a PostgreSQL server (found once per process)."""
    global _server
    if _server is None:
        candidate = os.environ.get(ENV_URL) or DEFAULT_URL
        _server = candidate if _answers(candidate) else _start_private()
    return _server


def create_database(label: str = "t", server: str | None = None) -> str:
    """A new, empty database with an ICU en-US default collation (on ``server``, a
    maintenance URL, or the one server_url finds); its URL."""
    server = server or server_url()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"og_{label}_{worker}_{os.getpid()}_{next(_names)}".lower()
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu"
                     " ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'".encode())  # fmt: skip
    return urlsplit(server)._replace(path="/" + name).geturl()


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with contextlib.suppress(psycopg.Error), psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
