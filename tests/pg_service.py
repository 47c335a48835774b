"""PostgreSQL for the tests: found, or started privately, and one fresh database per use.

The server is ``OORTGATE_TEST_PG_URL`` if set, else 127.0.0.1:5432 (user postgres, trust
auth); when neither answers, a private instance (initdb + pg_ctl from
/usr/lib/postgresql/*/bin, in a temp dir, on a free port) is started for this process and
stopped at exit. Each database is created with an ICU en-US default collation, as users'
databases often are: a key or name column missing ``COLLATE "C"`` sorts wrong here.
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


def _start_private() -> str:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not bins:
        raise RuntimeError("no PostgreSQL answers and none is installed (/usr/lib/postgresql)")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="oortgate-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    port = _free_port()
    subprocess.run(
        _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                      "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"]),
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on"
    subprocess.run(
        _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-o", options,
                      "-l", str(root / "log"), "-w", "start"]),
        check=True, capture_output=True,
    )  # fmt: skip

    def stop() -> None:
        subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                     "stop"]), capture_output=True)  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def server_url() -> str:
    """A maintenance connection URL to a PostgreSQL server (found once per process)."""
    global _server
    if _server is None:
        candidate = os.environ.get(ENV_URL) or DEFAULT_URL
        _server = candidate if _answers(candidate) else _start_private()
    return _server


def create_database(label: str = "t") -> str:
    """A new, empty database with an ICU en-US default collation; its URL."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"og_{label}_{worker}_{os.getpid()}_{next(_names)}".lower()
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        conn.execute(f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu"
                     " ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'".encode())  # fmt: skip
    return urlsplit(server_url())._replace(path="/" + name).geturl()


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    with contextlib.suppress(psycopg.Error), psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
