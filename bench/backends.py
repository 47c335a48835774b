"""The engines a scaled-out oortgate runs on, started privately for the benchmark:
PostgreSQL (with pg_stat_statements, to count the statements each request sends), Redis,
and the tests' single-node Ceph cluster. Each is on a free loopback port in a temporary
directory and is stopped at the end of the run.
"""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

import psycopg

from tests import pg_service
from tests.redis_service import PrivateRedis


def postgres_installed() -> bool:
    return bool(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))


def redis_installed() -> bool:
    return shutil.which("redis-server") is not None


def ceph_installed() -> bool:
    from tests import ceph_cluster

    return ceph_cluster.ceph_installed()


class BenchPostgres:
    """A private PostgreSQL (fsync and synchronous_commit on, as oortgate insists) that
    preloads pg_stat_statements; databases made as the tests make them (ICU collation)."""

    def __init__(self) -> None:
        self.server = pg_service.PrivatePostgres()
        with (self.server.data / "postgresql.conf").open("a") as conf:
            conf.write("shared_preload_libraries = 'pg_stat_statements'\n"
                       "pg_stat_statements.track = top\n"
                       "pg_stat_statements.max = 10000\n"
                       "max_connections = 200\n")  # fmt: skip
        self.server.start()
        with psycopg.connect(self.server.url, autocommit=True) as conn:
            conn.execute(b"CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            row = conn.execute(b"SELECT current_setting('server_version')").fetchone()
        self.version = str(row[0]) if row else "?"

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def bindir(self) -> Path:
        return self.server.bindir

    def postmaster_pid(self) -> int:
        """The postmaster: every backend is its child (CPU is summed over the tree)."""
        return int((self.server.data / "postmaster.pid").read_text().split()[0])

    def create_database(self, label: str) -> str:
        return pg_service.create_database(label, self.server.url)

    def statements(self, database_url: str) -> int:
        """Statements executed so far in that database (pg_stat_statements' calls; a
        plain statement or a function call is one, so is BEGIN and COMMIT: the round
        trips the client made, as psycopg sends one at a time)."""
        name = database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.server.url, autocommit=True) as conn:
            row = conn.execute(
                b"SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s"
                b" JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = %s",
                (name,),
            ).fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.server.close()


class BenchRedis(PrivateRedis):
    """A private redis-server (nothing on disk): its PID for the CPU it spends."""

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid
