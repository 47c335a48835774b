"""Lifecycle throughput: objects expired per second by ``oortgate lifecycle run``.

Oortgate only: the peers have no way to fast-forward a rule's days. Its own oortgate
(``--lifecycle-day-seconds 1``, the worker's passes an hour apart so that only the CLI
acts) gets ``scale.expire_objects`` 4 KiB objects under ``expire/`` and a few under
``keep/`` through the API, then an Expiration rule of 1 day on ``expire/``. Once that
day has passed, the CLI is timed from its start to its exit (its interpreter start-up
included; a run before the rule existed measures that alone, ``cli_startup_s``), as an
operator runs it, on the server's data directory while it serves. Listings must then
show no ``expire/`` key and every ``keep/`` one.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import time
from typing import Any

from .common import emit, fail, fill
from .context import Ctx, Measured, sampled
from .servers import PYTHON, REPO_ROOT, Server, start_oortgate
from .wl_small import SMALL

DAY_S = 1.0
KEEP = 10


def lifecycle_expire(ctx: Ctx) -> None:
    """On a server of its own; its rows are oortgate's (``ctx``'s server name)."""
    srv = start_oortgate(ctx.server.workdir.parent, name="oortgate-lifecycle", extra_args=(
        "--lifecycle-day-seconds", str(DAY_S), "--lifecycle-interval", "3600"))  # fmt: skip
    try:
        _measure(ctx, Ctx(srv, ctx.scale, ctx.client, ctx.emit), ctx.scale.expire_objects)
    finally:
        srv.stop()


def _measure(ctx: Ctx, lc: Ctx, n: int) -> None:
    bucket = "bench-lifecycle"
    body = b"e" * SMALL
    expiring, fm, fs = fill(lc, bucket, [f"expire/{i:07d}" for i in range(n)], body)
    kept, km, _ = fill(lc, bucket, [f"keep/{i:02d}" for i in range(KEEP)], body)
    filled = time.time()
    if len(expiring) != n or len(kept) != KEEP:
        fail(fm, f"filled {len(expiring)} of {n} (and {len(kept)} of {KEEP}) objects")
    emit(ctx, "put_4k_fill", fm, fs, concurrency=32, object_bytes=SMALL,
         purpose=f"fill {bucket} (on its own server)")  # fmt: skip
    # No rule yet: start-up and an empty pass (the best of two: the first warms caches).
    startup_s = min(_run_cli(lc.server)[0] for _ in range(2))
    lc.s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [
        {"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "expire/"},
         "Expiration": {"Days": 1}}]})  # fmt: skip
    time.sleep(max(0.0, filled + 2 * DAY_S + 0.1 - time.time()))  # a day, rounded up, passed
    with sampled(lc.server.pid) as s:
        wall_s, cli_cpu_s, summary = _run_cli(lc.server)
    expired = int(summary.get("expired", 0))
    m = Measured(expired, wall_s, expired * SMALL)
    m.errors = km.errors + int(summary.get("failed", 0))
    if expired != len(expiring):
        fail(m, f"expired {expired} of {len(expiring)}: {summary}")
    left = _count(lc, bucket, "expire/")
    if left or _count(lc, bucket, "keep/") != len(kept):
        fail(m, f"after the run {left} expire/ keys listed, keep/ changed")
    # Without the start-up, when the pass itself took most of the wall time (else noise).
    per_s = round(expired / (wall_s - startup_s), 1) if wall_s > 2 * startup_s else None
    emit(ctx, "lifecycle_expire", m, s, concurrency=1, object_bytes=SMALL, n_objects=n,
         scanned=int(summary.get("scanned", 0)), cli_cpu_s=round(cli_cpu_s, 3),
         cli_startup_s=round(startup_s, 3), expired_per_s_after_startup=per_s,
         verified=len(expiring) - left, client="oortgate lifecycle run")  # fmt: skip


def _run_cli(srv: Server) -> tuple[float, float, dict[str, Any]]:
    """(wall seconds, CPU seconds, its JSON summary) of one ``oortgate lifecycle run``."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT),
               OORTGATE_LIFECYCLE_DAY_SECONDS=str(DAY_S))  # fmt: skip
    cmd = [PYTHON, "-m", "oortgate", "lifecycle", "--data-dir", str(srv.workdir / "data"),
           "run", "--json"]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"oortgate lifecycle run: exit {proc.returncode}: {proc.stderr[-500:]}")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    summary: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return wall, cpu, summary


def _count(ctx: Ctx, bucket: str, prefix: str) -> int:
    pages = ctx.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(len(p.get("Contents", [])) for p in pages)
