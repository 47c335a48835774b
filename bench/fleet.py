"""1 vs 3 gateways: ``oortgate serve`` processes over one PostgreSQL database, one shared
file:// blob directory and one Redis (the rate limit on, so each request pays its EVALSHA),
each in a cgroup with a CPU quota of its own, one worker each. The load generator is the
load balancer: it presigns every request for the gateway its turn (round-robin) falls on.

The 1-gateway rows use the first gateway alone; the other two are idle meanwhile. Small
PUTs, GETs and HEADs of 4 KiB and ListObjectsV2 pages of 1,000, each row with the CPU the
gateways, PostgreSQL and Redis spent per request and the statements per request.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from oortgate.secretbox import ENV_VAR as SECRETS_ENV
from oortgate.secretbox import SecretBox
from oortgate.tls import ensure_self_signed

from .common import fail, sample, verify_listing
from .context import EXPIRES, KIB, Ctx, Measured, row
from .cpuquota import CpuQuota
from .httpclient import LoadResult, Req, run_load
from .presign import Presigner
from .probes import CpuProbe, ProbeFactory, StatementProbe, probed
from .servers import REGION, Server, start_oortgate
from .wl_small import body_4k

if TYPE_CHECKING:
    from .scaleout import ScaleOut

SMALL = 4 * KIB
BUCKET, LIST_BUCKET = "bench-scale", "bench-scale-list"
SIZES = (1, 3)
LIST_CONCURRENCY = 8  # a page of 1,000 keys is a big answer: fewer at once


class Fleet:
    def __init__(self, gateways: list[Server], quotas: list[CpuQuota], cafile: str) -> None:
        self.gateways = gateways
        self.quotas = quotas
        self.cafile = cafile
        self.signers = [Presigner(g.endpoint, g.access_key, g.secret_key, REGION, EXPIRES)
                        for g in gateways]  # fmt: skip
        self.ctxs: list[Ctx] = []

    def spread(self, n: int, method: str, bucket: str, keys: list[str], body: bool = False,
               expect_len: int | None = None) -> list[Req]:  # fmt: skip
        """One request per key, the i-th to gateway i mod n."""
        return [Req(method, self.signers[i % n].url(method, bucket, k),
                    body_4k(k) if body else b"", expect=(200, 204), expect_len=expect_len)
                for i, k in enumerate(keys)]  # fmt: skip

    def throttled_s(self, n: int) -> float:
        return sum(q.throttled_s() for q in self.quotas[:n])


def _start(so: ScaleOut, root: tuple[Path, str]) -> Fleet:
    pg, redis = so.postgres(), so.redis()
    url = pg.create_database("fleet")
    blobs = so.base / "fleet-blobs"
    blobs.mkdir()
    cert, key = ensure_self_signed(so.base / "fleet-tls")
    env = {SECRETS_ENV: SecretBox.generate_key(),
           "OORTGATE_ROOT_ACCESS_KEY": "BENCH" + secrets.token_hex(8).upper(),
           "OORTGATE_ROOT_SECRET_KEY": secrets.token_urlsafe(30)[:40]}  # fmt: skip
    args = ("--metadata-url", url, "--blob-url", blobs.as_uri(), "--rate-limit-url", redis.url,
            "--rate-limit", "1000000", "--rate-burst", "1000000")  # fmt: skip
    quotas = []
    for i in range(max(SIZES)):
        quota = CpuQuota(root, f"oortgate-bench-{os.getpid()}-gw{i}", so.gateway_cpus)
        so.stack.callback(quota.close)  # after the gateway's stop (callbacks run in reverse)
        quotas.append(quota)

    def start(i: int) -> Server:
        srv = start_oortgate(so.base, 1, args, name=f"gw{i}", env=env, tls=(str(cert), str(key)),
                             prefix=quotas[i].prefix(), ready_timeout=180,
                             note="metadata_url=postgresql, blob_url=file:// (shared), "
                             "rate_limit_url=redis://")  # fmt: skip
        so.stack.callback(srv.stop)
        return srv

    with ThreadPoolExecutor(len(quotas)) as pool:  # together, as the multigw suite does
        gateways = list(pool.map(start, range(len(quotas))))
    fleet = Fleet(gateways, quotas, str(cert))
    fleet.ctxs = [Ctx(g, so.scale, so.client, so.res.add) for g in gateways]
    so.pgbench_target = (url, BUCKET, "s1/", 0)
    so.notes.append(
        f"Gateways: {len(gateways)} `oortgate serve --workers 1`, each in a cgroup of its own "
        f"capped at {so.gateway_cpus:g} CPU ({quotas[0].setting}) on this 2-core machine, "
        "so that 3 of them (at most "
        f"{so.gateway_cpus * 3:g} CPU) leave room for the client, PostgreSQL and Redis; one "
        "PostgreSQL database, one shared file:// directory, one Redis (the rate limit on, "
        "at 1,000,000/s per key, so each request runs its EVALSHA); the client spreads "
        "requests round-robin over the gateways it is given, as a load balancer would."
    )
    return fleet


def measure_fleet(so: ScaleOut, root: tuple[Path, str]) -> None:
    fleet = _start(so, root)
    pg, redis = so.postgres(), so.redis()
    url = so.pgbench_target[0] if so.pgbench_target else ""
    ctx = fleet.ctxs[0]
    ctx.s3.create_bucket(Bucket=BUCKET)
    ctx.s3.create_bucket(Bucket=LIST_BUCKET)
    list_keys = [f"l/{i:07d}" for i in range(so.scale.list_keys)]
    fill = run_load(fleet.spread(3, "PUT", LIST_BUCKET, list_keys), 32,
                    so.scale.populate_secs, fleet.cafile, so.client)  # fmt: skip
    listed = [list_keys[i] for i in sorted(fill.ok_indexes)]
    for n in SIZES:
        pids = [g.pid for g in fleet.gateways[:n]]
        probes: list[ProbeFactory] = [
            lambda: StatementProbe(lambda: pg.statements(url)),
            _cpu_of("gateway", pids),
            lambda: CpuProbe("postgres", lambda: [pg.postmaster_pid()]),
            lambda: CpuProbe("redis", lambda: [redis.pid]),
        ]
        keys = [f"s{n}/{i:07d}" for i in range(so.scale.small_ops)]
        put = _measure(so, fleet, n, "put_4k", fleet.spread(n, "PUT", BUCKET, keys, body=True),
                       probes, so.scale.concurrency)  # fmt: skip
        written = [keys[i] for i in sorted(put[0].ok_indexes)]
        _verify_elsewhere(fleet, n, put[1], written)
        _emit(so, fleet, n, "put_4k", *put, verified=min(len(written), 10))
        if n == 1:
            so.pgbench_target = (url, BUCKET, "s1/", len(written))
        reads = [written[i % len(written)] for i in range(so.scale.small_ops)] if written else []
        for workload, method in (("get_4k", "GET"), ("head_4k", "HEAD")):
            reqs = fleet.spread(n, method, BUCKET, reads,
                                expect_len=SMALL if method == "GET" else None)  # fmt: skip
            measured = _measure(so, fleet, n, workload, reqs, probes, so.scale.concurrency)
            _emit(so, fleet, n, workload, *measured)
        reqs = _list_pages(fleet, n, listed, so.scale.list_rounds)
        res, m, extra = _measure(so, fleet, n, "list_objects_v2", reqs, probes, LIST_CONCURRENCY)
        pages = max(1, -(-len(listed) // 1000))
        extra["keys_per_s"] = round(m.ops / max(m.elapsed_s, 1e-9) * len(listed) / pages, 1)
        verify_listing(fleet.ctxs[n - 1], m, LIST_BUCKET, listed, 1000)
        _emit(so, fleet, n, "list_objects_v2", res, m, extra, n_objects=len(listed))


def _cpu_of(label: str, pids: list[int]) -> ProbeFactory:
    return lambda: CpuProbe(label, lambda: pids)


Measurement = tuple[LoadResult, Measured, dict[str, Any]]


def _measure(so: ScaleOut, fleet: Fleet, n: int, workload: str, reqs: list[Req],
             probes: list[ProbeFactory], concurrency: int) -> Measurement:  # fmt: skip
    print(f"[{n} gateway{'s' if n > 1 else ''}] {workload}", flush=True)
    throttled = fleet.throttled_s(n)
    with probed(probes) as p:
        res = run_load(reqs, concurrency, so.scale.small_secs, fleet.cafile, so.client)
        p.ops = res.ok
    m = Measured.of(res, SMALL * res.ok if workload in ("put_4k", "get_4k") else 0)
    extra = dict(p.fields)
    extra["throttled_s"] = round(fleet.throttled_s(n) - throttled, 3)
    extra["concurrency"] = concurrency
    return res, m, extra


def _emit(so: ScaleOut, fleet: Fleet, n: int, workload: str, _res: LoadResult, m: Measured,
          extra: dict[str, Any], **more: Any) -> None:  # fmt: skip
    out = row(f"oortgate-{n}gw", workload, m, None, so.scale.name, gateways=n,
              gateway_cpus=so.gateway_cpus, **extra, **more)  # fmt: skip
    out["server_cpu_s"] = extra.get("gateway_cpu_s", 0.0)
    so.res.add(out)


def _verify_elsewhere(fleet: Fleet, n: int, m: Measured, written: list[str]) -> None:
    """A sample read back through another gateway than the one that wrote it."""
    for key in sample(written):
        i = int(key.rsplit("/", 1)[1])
        reader = fleet.ctxs[(i + 1) % len(fleet.ctxs)]
        with contextlib.suppress(Exception):
            if reader.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == body_4k(key):
                continue
        fail(m, f"verify GET {key} through gateway {(i + 1) % len(fleet.ctxs)}: differs")


def _list_pages(fleet: Fleet, n: int, keys: list[str], rounds: int) -> list[Req]:
    reqs = []
    for r in range(rounds):
        for start in range(0, len(keys), 1000):
            params: dict[str, Any] = {"Bucket": LIST_BUCKET, "MaxKeys": 1000}
            if start:
                params["StartAfter"] = keys[start - 1]
            ctx = fleet.ctxs[(r + start // 1000) % n]
            reqs.append(Req("GET", ctx.presign("list_objects_v2", **params)))
    return reqs
