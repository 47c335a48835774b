"""The scale-out sections of the benchmark (issue 19), each measured in the same run as
the embedded default it is compared with:

* ``pg``: the small-object and large-object workloads on oortgate with
  metadata_url=postgresql (a private PostgreSQL, a database with an ICU collation), with
  the statements each request sent and the CPU PostgreSQL spent on it;
* ``rados``: the same on blob_url=rados:// (a private single-node Ceph);
* ``gateways``: 1 and 3 gateways over one PostgreSQL, one shared file:// directory and
  one Redis, each gateway in a cgroup of its own with a CPU quota, the client spreading
  requests round-robin as a load balancer would (bench.fleet);
* ``pgbench``: PostgreSQL's own ceiling for the statements of a PUT and of a GET
  (bench.pgbench), on the gateways' database.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import SecretBox

from . import backends, pgbench
from .context import Measured, Scale, row
from .cpuquota import find_root
from .fleet import measure_fleet
from .probes import CpuProbe, ProbeFactory, StatementProbe
from .report import Results
from .servers import Server, start_oortgate

SECTIONS = ("pg", "rados", "gateways", "pgbench")
# The workloads compared with the embedded default (run.py's names, in its order).
BACKEND_WORKLOADS = ("put_4k", "get_4k", "head_4k", "delete_4k", "put_big", "get_big", "list")
PGBENCH_CLIENTS = (1, 16)
RunWorkloads = Callable[[Server, list[str], list[ProbeFactory]], None]


@dataclass
class ScaleOut:
    """What the sections share: the run's results and scale, the engines (started on
    first use, stopped with ``stack``)."""

    res: Results
    base: Path
    scale: Scale
    workers: int
    gateway_cpus: float
    client: str  # the load generator's transport (aiohttp or raw)
    notes: list[str]
    stack: contextlib.ExitStack
    pgbench_target: tuple[str, str, str, int] | None = None  # url, bucket, key prefix, keys
    _pg: backends.BenchPostgres | None = None
    _redis: backends.BenchRedis | None = None
    _noted: set[str] = field(default_factory=set)

    def postgres(self) -> backends.BenchPostgres:
        if self._pg is None:
            self._pg = backends.BenchPostgres()
            self.stack.callback(self._pg.close)
            self.notes.append(f"PostgreSQL {self._pg.version}: private, on this machine, "
                              "fsync and synchronous_commit on, pg_stat_statements preloaded; "
                              "each database ICU en-US collated.")  # fmt: skip
        return self._pg

    def redis(self) -> backends.BenchRedis:
        if self._redis is None:
            self._redis = backends.BenchRedis()
            self._redis.start()
            self.stack.callback(self._redis.close)
        return self._redis

    def skip(self, section: str, why: str) -> None:
        self.notes.append(f"scale-out section {section}: skipped ({why}).")


def run_sections(so: ScaleOut, sections: list[str], names: list[str],
                 run_workloads: RunWorkloads) -> None:  # fmt: skip
    """The chosen sections in a fixed order: PostgreSQL's first (its engine then serves
    the rest), Ceph's last (its idle daemons stay up until the run ends)."""
    wanted = [w for w in BACKEND_WORKLOADS if w in names]
    have_pg = backends.postgres_installed()
    if "pg" in sections:
        if have_pg:
            postgres_rows(so, wanted, run_workloads)
        else:
            so.skip("pg", "PostgreSQL is not installed: make pg-deps")
    if "gateways" in sections:
        if not have_pg or not backends.redis_installed():
            so.skip("gateways", "PostgreSQL or redis-server is missing: make pg-deps redis-deps")
        elif (root := find_root()) is None:
            so.skip("gateways", "no writable cgroup cpu controller for the CPU quotas")
        else:
            print("[scale-out] 1 vs 3 gateways", flush=True)
            measure_fleet(so, root)
    if "pgbench" in sections:
        exe = pgbench.binary(so._pg.bindir if so._pg else None)
        if exe is None or so.pgbench_target is None:
            so.skip("pgbench", "pgbench is missing (postgresql-client)" if exe is None
                    else "it needs the pg or gateways section's database")  # fmt: skip
        else:
            print("[scale-out] pgbench", flush=True)
            pgbench_rows(so, exe)
    if "rados" in sections:
        if backends.ceph_installed():
            rados_rows(so, wanted, run_workloads)
        else:
            so.skip("rados", "Ceph is not installed: make ceph-deps")


def postgres_rows(so: ScaleOut, names: list[str], run_workloads: RunWorkloads) -> None:
    pg = so.postgres()
    url = pg.create_database("bench")
    srv = start_oortgate(so.base, so.workers, ("--metadata-url", url), name="oortgate-pg",
                         env={SECRETS_ENV: SecretBox.generate_key()},
                         note="metadata_url=postgresql (the private PostgreSQL)",
                         ready_timeout=60)  # fmt: skip
    so.stack.callback(srv.stop)
    so.notes.append(f"oortgate-pg: {'; '.join(srv.notes)}.")
    probes: list[ProbeFactory] = [
        lambda: StatementProbe(lambda: pg.statements(url)),
        lambda: CpuProbe("postgres", lambda: [pg.postmaster_pid()]),
    ]
    run_workloads(srv, names, probes)
    srv.stop()
    if "list" in names:
        so.pgbench_target = (url, "bench-list", "list/", so.scale.list_keys)


def rados_rows(so: ScaleOut, names: list[str], run_workloads: RunWorkloads) -> None:
    from tests import ceph_cluster

    print("[scale-out] booting a single-node Ceph", flush=True)
    cluster = ceph_cluster.shared_cluster()  # stopped when this process exits
    blob_url = f"rados://{cluster.pool}?conf={cluster.conf}&id={cluster.client}"
    # inline_max_size 0: else a 4 KiB body stays in the metadata row and never reaches
    # RADOS (its small rows would be the embedded store's again).
    srv = start_oortgate(so.base, so.workers, ("--blob-url", blob_url, "--inline-max-size", "0"),
                         name="oortgate-rados",
                         note="blob_url=rados:// (a private single-node Ceph: one monitor, "
                         "one BlueStore OSD on a sparse file), embedded SQLite metadata, "
                         "inline_max_size 0 (every body in RADOS)", ready_timeout=60)  # fmt: skip
    so.stack.callback(srv.stop)
    so.notes.append(f"oortgate-rados: {'; '.join(srv.notes)}; Ceph booted in "
                    f"{cluster.boot_seconds:g} s.")  # fmt: skip
    conf = str(cluster.conf)
    run_workloads(srv, names, [lambda: CpuProbe("ceph", lambda: ceph_pids(conf))])
    srv.stop()


def ceph_pids(conf: str) -> list[int]:
    """The Ceph daemons started with that configuration file (monitor and OSD)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = Path(f"/proc/{name}/cmdline").read_bytes().split(b"\0")
            if args and args[0].endswith((b"ceph-mon", b"ceph-osd")) and conf.encode() in args:
                found.append(int(name))
    return found


def pgbench_rows(so: ScaleOut, exe: str) -> None:
    assert so.pgbench_target is not None and so._pg is not None
    pg = so._pg
    url, bucket, prefix, nkeys = so.pgbench_target
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(b"SELECT id, owner_id FROM buckets WHERE name = %s",
                             (bucket,)).fetchone()  # fmt: skip
    if found is None:
        so.skip("pgbench", f"bucket {bucket} not found")
        return
    variables = {"bucket": str(found[0]), "owner": str(found[1]), "prefix": prefix,
                 "nkeys": str(max(1, nkeys))}  # fmt: skip
    seconds = 1.0 if so.scale.name == "tiny" else max(2.0, so.scale.small_secs)
    work = so.base / "pgbench"
    work.mkdir(exist_ok=True)
    for op, script in (("put", pgbench.PUT_SCRIPT), ("get", pgbench.GET_SCRIPT)):
        for clients in PGBENCH_CLIENTS:
            cpu = CpuProbe("postgres", lambda: [pg.postmaster_pid()])
            cpu.start()
            try:
                r = pgbench.run(exe, url, script, work, clients, seconds, variables)
            except RuntimeError as exc:
                cpu.finish(0)
                m = Measured(0, 0.0, errors=1, extra={"first_error": str(exc)[:300]})
                so.res.add(row("postgresql", f"pgbench_{op}_c{clients}", m, None, so.scale.name))
                continue
            m = Measured(r.transactions, r.seconds, errors=r.failed)
            m.extra.update(cpu.finish(r.transactions))
            so.res.add(row("postgresql", f"pgbench_{op}_c{clients}", m, None, so.scale.name,
                           clients=clients, latency_avg_ms=r.latency_ms,
                           statement="og_put_object (4 KiB inline)" if op == "put"
                           else "PgObjects.get_object's SELECT"))  # fmt: skip
    so.notes.append(f"pgbench: `-n -M prepared -T {seconds:g}` with 1 and 16 clients, the "
                    "statements the PostgreSQL store sends for a 4 KiB PUT and a GET, on "
                    f"the database of bucket {bucket}.")  # fmt: skip
