"""Soak: a long, steady mixed load at a fraction of measured capacity (``make soak``).

1. Measures capacity: closed-loop mixed requests (GET/PUT/DELETE on a bounded key set)
   for ``--calibrate`` seconds; capacity = requests answered per second.
2. Runs an open-loop load at ``--fraction`` of it for ``--seconds``: request i is due at
   start + i/rate whatever happened before, and its latency is counted from that moment
   (a stalled server cannot hide its queue: no coordinated omission).
3. Every ``--window`` seconds records p99 latency, throughput, errors and the RSS of the
   server's process tree; writes them to ``OUT/soak.json`` and plots ``OUT/soak.png``
   (matplotlib, from the ``soak`` optional dependencies).

Loopback only; the key set is bounded, so the disk does not grow without limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import boto3
from botocore.config import Config

from .httpclient import Req, _RawConn, percentile_ms, run_load
from .presign import Presigner
from .procstat import rss_mb, tree
from .servers import REGION, Server, client_ssl_context, start_oortgate

BUCKET = "soak"
KEYS = 2000
BODY = 4096
MAX_IN_FLIGHT = 64


@dataclass
class Window:
    t_s: float  # seconds since the soak started (end of the window)
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    rss_mb: float


@dataclass
class Soak:
    capacity_rps: float
    target_rps: float
    seconds: float
    windows: list[Window] = field(default_factory=list)


class Mix:
    """The request mix: 60% GET, 30% PUT (overwrites), 10% DELETE, on KEYS keys."""

    def __init__(self, srv: Server, seed: int = 1) -> None:
        self.srv = srv
        self.rng = random.Random(seed)
        self.body = random.Random(seed).randbytes(BODY)
        self.signer = self._new_signer()
        self.signed_at = time.monotonic()

    def _new_signer(self) -> Presigner:
        return Presigner(self.srv.endpoint, self.srv.access_key, self.srv.secret_key, REGION,
                         expires=3600)  # fmt: skip

    def next(self) -> Req:
        if time.monotonic() - self.signed_at > 600:  # keep the presigned URLs fresh
            self.signer, self.signed_at = self._new_signer(), time.monotonic()
        key = f"k{self.rng.randrange(KEYS):05d}"
        r = self.rng.random()
        if r < 0.6:
            return Req("GET", self.signer.url("GET", BUCKET, key), expect=(200, 404))
        if r < 0.9:
            return Req("PUT", self.signer.url("PUT", BUCKET, key), body=self.body)
        return Req("DELETE", self.signer.url("DELETE", BUCKET, key), expect=(204,))


def prepare(srv: Server) -> None:
    """The bucket, with every key present (GETs read real objects from the start)."""
    s3 = boto3.client(
        "s3", endpoint_url=srv.endpoint, region_name=REGION, aws_access_key_id=srv.access_key,
        aws_secret_access_key=srv.secret_key, verify=srv.client_cafile,
        config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip
    s3.create_bucket(Bucket=BUCKET)
    signer = Mix(srv).signer
    body = random.Random(0).randbytes(BODY)
    reqs = [Req("PUT", signer.url("PUT", BUCKET, f"k{k:05d}"), body=body) for k in range(KEYS)]
    res = run_load(reqs, 16, 120, srv.client_cafile, client="raw")
    if res.errors:
        raise RuntimeError(f"filling failed: {res.errors} errors, first: {res.first_error}")


def measure_capacity(srv: Server, seconds: float, window_s: float) -> float:
    """Requests answered per second with the soak's own engine, unpaced."""
    windows: list[Window] = []
    asyncio.run(_drive(srv, seconds, None, window_s, windows))
    errors = sum(w.errors for w in windows)
    if errors or not windows:
        raise RuntimeError(f"calibration failed: {errors} errors in {windows}")
    return sum(w.requests for w in windows) / windows[-1].t_s


def server_rss_mb(srv: Server) -> float:
    return sum(rss_mb(pid) for pid in tree(srv.pid))


async def _drive(srv: Server, seconds: float, rate: float | None, window_s: float,
                 windows: list[Window]) -> None:  # fmt: skip
    """A scheduler queues each request's due time (``rate`` per second, or as fast as the
    workers take them when None); MAX_IN_FLIGHT workers, each with its own keep-alive
    connection, send them (a slow server makes the queue wait). Calibration and soak use
    this same engine, so that the client's own cost is the same in both."""
    mix = Mix(srv)
    sslctx = client_ssl_context(srv.client_cafile)
    queue: asyncio.Queue[float] = asyncio.Queue(maxsize=MAX_IN_FLIGHT)
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    end = start + seconds

    async def worker() -> None:
        nonlocal errors
        conn = _RawConn(sslctx)
        while (due := await queue.get()) > 0:
            req = mix.next()
            try:
                async with asyncio.timeout(60):
                    ok = (await conn.request(req, False)).status in req.expect
            except Exception:  # counted as an error, never fatal to the soak
                ok = False
                await conn.close()
            latencies.append(time.perf_counter() - due)
            errors += not ok
        await conn.close()

    workers = [asyncio.create_task(worker()) for _ in range(MAX_IN_FLIGHT)]
    i, next_window = 0, start + window_s
    while (now := time.perf_counter()) < end:
        due = now if rate is None else start + i / rate
        if due > now:
            await asyncio.sleep(min(due - now, 0.05))
        else:
            await queue.put(due)
            i += 1
        if time.perf_counter() >= next_window:
            windows.append(_window(next_window - start, latencies, errors, srv))
            print(json.dumps(asdict(windows[-1])), flush=True)
            latencies, errors = [], 0
            next_window += window_s
    for _ in workers:
        await queue.put(0.0)  # stop
    await asyncio.gather(*workers)


def _window(t_s: float, latencies: list[float], errors: int, srv: Server) -> Window:
    return Window(
        t_s=round(t_s, 1), requests=len(latencies), errors=errors,
        p50_ms=round(percentile_ms(latencies, 0.5), 2),
        p99_ms=round(percentile_ms(latencies, 0.99), 2),
        rss_mb=round(server_rss_mb(srv), 1),
    )  # fmt: skip


def plot(soak: Soak, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_min = [w.t_s / 60 for w in soak.windows]
    fig, (lat, mem) = plt.subplots(2, 1, sharex=True, figsize=(9, 6))
    lat.plot(t_min, [w.p99_ms for w in soak.windows], label="p99")
    lat.plot(t_min, [w.p50_ms for w in soak.windows], label="p50", alpha=0.6)
    lat.set_ylabel("latency (ms)")
    lat.legend(loc="upper right")
    lat.set_title(
        f"oortgate soak: {soak.target_rps:.0f} req/s = 80% of {soak.capacity_rps:.0f} measured, "
        f"{soak.seconds / 60:.0f} min (60% GET, 30% PUT 4 KiB, 10% DELETE)", fontsize=9
    )
    mem.plot(t_min, [w.rss_mb for w in soak.windows], color="tab:red")
    mem.set_ylabel("server RSS (MB)")
    mem.set_xlabel("minutes")
    mem.set_ylim(0, max((w.rss_mb for w in soak.windows), default=1) * 1.3)
    fig.tight_layout()
    fig.savefig(png, dpi=100)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument("--fraction", type=float, default=0.8)
    ap.add_argument("--calibrate", type=float, default=30)
    ap.add_argument("--window", type=float, default=10)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("docs"))
    ap.add_argument("--replot", action="store_true", help="only plot OUT/soak.json again")
    args = ap.parse_args()
    if args.replot:
        doc = json.loads((args.out / "soak.json").read_text())
        windows = [Window(**w) for w in doc.pop("windows")]
        return plot(Soak(**doc, windows=windows), args.out / "soak.png")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    with tempfile.TemporaryDirectory(prefix="oortgate-soak-") as base:
        srv = start_oortgate(Path(base), workers=args.workers)
        try:
            prepare(srv)
            capacity = measure_capacity(srv, args.calibrate, args.window)
            soak = Soak(capacity, capacity * args.fraction, args.seconds)
            print(f"capacity {capacity:.0f} req/s; soaking at {soak.target_rps:.0f} req/s")
            asyncio.run(_drive(srv, soak.seconds, soak.target_rps, args.window, soak.windows))
        finally:
            srv.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "soak.json").write_text(json.dumps(asdict(soak), indent=1) + "\n")
    plot(soak, args.out / "soak.png")
    total = sum(w.requests for w in soak.windows)
    errors = sum(w.errors for w in soak.windows)
    worst = max((w.p99_ms for w in soak.windows), default=0.0)
    print(f"{total} requests, {errors} errors, worst window p99 {worst:.1f} ms")


if __name__ == "__main__":
    main()
