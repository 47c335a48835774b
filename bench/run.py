"""Run the benchmark: oortgate and its peers, the same workloads, the machine's limits.

    python -m bench.run [--quick | --tiny] [--out DIR] [--servers oortgate,moto,...]

Writes OUT/results.jsonl (one JSON line per server and workload, plus machine limits) and
OUT/results.md (ratio tables for the README). Peers that are not installed are skipped.
Every server listens on 127.0.0.1 only and is stopped at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: python bench/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import curlrun, limits, wl_big, wl_lifecycle, wl_sizes, wl_small, wl_versions, wrkrun
from bench.context import MIB, SCALES, Ctx, Measured, Scale, row
from bench.httpclient import Req, have_aiohttp, run_load
from bench.probes import ProbeFactory
from bench.report import Results, markdown
from bench.scaleout import SECTIONS, ScaleOut, run_sections
from bench.seaweedfs import start_seaweedfs, weed_bin
from bench.servers import (
    REPO_ROOT,
    Server,
    moto_available,
    nginx_available,
    s3rver_bin,
    start_moto,
    start_nginx,
    start_oortgate,
    start_s3rver,
)

Workload = Callable[[Ctx], None]
S3_WORKLOADS: list[tuple[str, Workload]] = [
    ("put_4k", wl_small.put_4k),
    ("get_4k", wl_small.get_4k),
    ("get_4k_wrk", wl_small.get_4k_wrk),
    ("put_4k_wrk", wl_small.put_4k_wrk),
    ("head_4k", wl_small.head_4k),
    ("delete_4k", wl_small.delete_4k),
    ("put_big", wl_big.put_big_all),
    ("get_big", wl_big.get_big_all),
    ("multipart", wl_big.multipart),
    ("copy", wl_big.copy_all),
    ("list", wl_small.list_objects_v2),
    ("head_latency", wl_small.head_latency),
    ("stream", wl_sizes.stream),
    ("complete", wl_sizes.complete_many),
    ("versioned", wl_versions.put_get_versioned),
    ("hot_versions", wl_versions.hot_key_listing),
    ("lifecycle", wl_lifecycle.lifecycle_expire),
]
STATIC_WORKLOADS = ("get_4k", "get_4k_wrk")
WRK_WORKLOADS = ("get_4k_wrk", "put_4k_wrk")
OORTGATE_ONLY = ("head_latency", "stream", "complete", "lifecycle")
ALL_SERVERS = ("oortgate", "nginx", "moto", "s3rver", "seaweedfs")
N_STATIC = 1000
T0 = time.monotonic()


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench.run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="a ~1-2 minute version")
    mode.add_argument(
        "--tiny", action="store_true", help="a few seconds, oortgate only (the harness's own test)"
    )
    p.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "out")
    p.add_argument(
        "--servers",
        help=f"comma list from {','.join(ALL_SERVERS)} (default: all "
        "that are installed; --tiny: oortgate)",
    )
    p.add_argument(
        "--workloads",
        help="comma list from "
        + ",".join(n for n, _ in S3_WORKLOADS)
        + " (default: all; --tiny: put_4k,get_4k)",
    )
    p.add_argument("--no-limits", action="store_true", help="skip the machine-limit probes")
    p.add_argument("--no-wrk", action="store_true", help="never use wrk")
    p.add_argument("--no-curl", action="store_true", help="never use curl (large PUTs)")
    p.add_argument(
        "--client",
        choices=("auto", "aiohttp", "raw"),
        default="auto",
        help="asyncio transport (auto: aiohttp when installed)",
    )
    p.add_argument("--workers", type=int, default=2, help="oortgate --workers")
    p.add_argument("--no-pg", action="store_true", help="skip the rows on metadata_url=postgresql")
    p.add_argument("--no-rados", action="store_true", help="skip the rows on blob_url=rados://")
    p.add_argument(
        "--no-gateways",
        action="store_true",
        help="skip 1 vs 3 gateways (PostgreSQL, shared dir, Redis, CPU quotas)",
    )
    p.add_argument(
        "--no-pgbench", action="store_true", help="skip PostgreSQL's own ceiling (pgbench)"
    )
    p.add_argument(
        "--scale-out",
        action="store_true",
        help="run those sections with --tiny too (the default otherwise)",
    )
    p.add_argument(
        "--gateway-cpus",
        type=float,
        default=0.25,
        help="each gateway's CPU quota in the 1 vs 3 gateways rows (CPUs)",
    )
    p.add_argument("--tmp", type=Path, help="parent of the temporary directory")
    p.add_argument("--keep-temp", action="store_true")
    return p.parse_args(argv)  # fmt: skip


def scale_out_sections(args: argparse.Namespace) -> list[str]:
    """The scale-out sections to run: all but those skipped (none with --tiny unless
    --scale-out)."""
    if args.tiny and not args.scale_out:
        return []
    return [s for s in SECTIONS if not getattr(args, f"no_{s}")]


def _on_sigterm(_sig: int, _frame: FrameType | None) -> None:
    raise SystemExit(143)


def machine_limits(res: Results, scale: Scale, base: Path) -> None:
    size = scale.limit_mib * MIB
    secs = limits.CREATE_SECS if scale.name != "tiny" else 0.3
    probes: list[tuple[str, str, Callable[[], Measured]]] = [
        ("md5", f"hashlib, {scale.limit_mib} MiB buffer", lambda: limits.hash_rate("md5", size)),
        ("sha256", f"hashlib, {scale.limit_mib} MiB buffer",
         lambda: limits.hash_rate("sha256", size)),
        ("fsync_create_4k", f"create+write+fsync+close+rename, {secs:g} s",
         lambda: limits.fsync_creates(base / "limits" / "creates", secs)),
        ("write_fdatasync", f"{scale.limit_mib} MiB sequential + fdatasync",
         lambda: limits.write_fdatasync(base / "limits", size)),
    ]  # fmt: skip
    for name, detail, fn in probes:
        res.add(row("machine", name, fn(), None, scale.name, detail=detail))


def tls_limit(res: Results, scale: Scale, nginx: Server, client: str) -> None:
    size = scale.limit_mib * MIB
    req = Req("GET", nginx.endpoint + "/big.bin", expect_len=size)
    lr = run_load([req], 1, 300.0, nginx.cafile, client)
    m = Measured.of(lr, size * lr.ok)
    res.add(
        row(
            "machine",
            "tls_single_stream",
            m,
            None,
            scale.name,
            client=lr.client,
            detail=f"{scale.limit_mib} MiB from nginx, one connection, this client",
        )
    )


def run_server(srv: Server, names: list[str], scale: Scale, res: Results, client: str,
               use_wrk: bool, state: dict[str, object],
               use_curl: bool = False, probes: list[ProbeFactory] | None = None,
               ) -> None:  # fmt: skip
    ctx = Ctx(srv, scale, client, res.add, use_wrk, use_curl, dict(state), list(probes or []))
    table = dict(S3_WORKLOADS)
    for name in names:
        if name in WRK_WORKLOADS and not use_wrk:
            continue
        if not srv.s3 and name not in STATIC_WORKLOADS:
            continue
        if srv.name != "oortgate" and name in OORTGATE_ONLY:
            continue
        print(f"[{srv.name}] {name} (t={time.monotonic() - T0:.0f}s)", flush=True)
        try:
            table[name](ctx)
        except Exception as exc:  # one broken workload must not end the run
            m = Measured(0, 0.0, errors=1, extra={"first_error": f"{type(exc).__name__}: {exc}"})
            res.add(row(srv.name, name, m, None, scale.name))


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    scale = SCALES["tiny" if args.tiny else "quick" if args.quick else "full"]
    servers = (args.servers.split(",") if args.servers
               else ["oortgate"] if args.tiny else list(ALL_SERVERS))  # fmt: skip
    names = (args.workloads.split(",") if args.workloads
             else ["put_4k", "get_4k"] if args.tiny else [n for n, _ in S3_WORKLOADS])  # fmt: skip
    unknown = set(names) - {n for n, _ in S3_WORKLOADS} | set(servers) - set(ALL_SERVERS)
    if unknown:
        raise SystemExit(f"unknown workload or server: {', '.join(sorted(unknown))}")
    client = args.client if args.client != "auto" else ("aiohttp" if have_aiohttp() else "raw")
    use_wrk = wrkrun.available() and not args.no_wrk and bool(set(WRK_WORKLOADS) & set(names))
    use_curl = curlrun.available() and not args.no_curl
    notes = [
        f"Load generator: one asyncio process ({client}), requests presigned (SigV4) before each "
        "timed loop; "
        + ("`wrk` -t2 -c32 for get_4k_wrk and put_4k_wrk" if use_wrk else "no wrk")
        + ("; `curl` (one process per stream) for the 64 MiB PUTs." if use_curl else "."),
        f"Scale ({scale.name}): 4 KiB workloads up to {scale.small_ops:,} requests or "
        f"{scale.small_secs:g} s each at concurrency {scale.concurrency}; big object "
        f"{scale.big_mib} MiB x{scale.big_reps}; multipart {scale.mpu_mib} MiB; ListObjectsV2 "
        f"over {scale.list_keys:,} keys; HEAD latency buckets of {scale.head_small_keys:,} "
        f"and {scale.head_big_keys:,} objects; versioning: one key of {scale.hot_versions:,} "
        f"versions among the listed ones; lifecycle: {scale.expire_objects:,} objects expired.",
    ]
    res = Results(args.out)
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    base = Path(tempfile.mkdtemp(prefix="oortgate-bench-", dir=args.tmp))
    t0 = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            if not args.no_limits:
                print("[machine] limits", flush=True)
                machine_limits(res, scale, base)
            tls: tuple[str, str] | None = None
            for name in servers:
                srv = _start(name, base, args, tls, notes)
                if srv is None:
                    continue
                stack.callback(srv.stop)
                if name == "oortgate":
                    assert srv.cafile is not None
                    tls = (srv.cafile, str(Path(srv.cafile).with_name("key.pem")))
                    notes.append(f"oortgate: {'; '.join(srv.notes)}.")
                else:
                    notes.append(f"{name}: {'; '.join(srv.notes)}.")
                if name == "nginx" and not args.no_limits:
                    tls_limit(res, scale, srv, client)
                state: dict[str, object] = {"static_paths": [
                    f"/static/f{i:05d}.bin" for i in range(N_STATIC)]}  # fmt: skip
                run_server(srv, names, scale, res, client, use_wrk, state, use_curl)
                srv.stop()
            sections = scale_out_sections(args)
            if sections:
                so = ScaleOut(
                    res, base, scale, args.workers, args.gateway_cpus, client, notes, stack
                )
                run_sections(so, sections, names, lambda srv, wanted, probes: run_server(
                    srv, wanted, scale, res, client, False, {}, use_curl, probes))  # fmt: skip
    finally:
        if not args.keep_temp:
            shutil.rmtree(base, ignore_errors=True)
    if scale.name == "full":
        notes.append(f"HEAD latency 'big' bucket: {scale.head_big_keys:,} objects, written "
                     "through the API (presigned PUTs, 100,000 at a time).")  # fmt: skip
    notes.append(f"Wall time {time.monotonic() - t0:.0f} s.")
    md = markdown(res, scale.name, notes)
    (args.out / "results.md").write_text(md)
    print("\n" + md)
    return 0


def _start(name: str, base: Path, args: argparse.Namespace, tls: tuple[str, str] | None,
           notes: list[str]) -> Server | None:  # fmt: skip
    if tls is None and name in ("nginx", "s3rver", "seaweedfs"):
        from oortgate.tls import ensure_self_signed

        cert, key = ensure_self_signed(base / "tls")
        tls = (str(cert), str(key))
    try:
        if name == "oortgate":
            return start_oortgate(base, args.workers)
        if name == "moto" and moto_available():
            return start_moto(base)
        if name == "nginx" and nginx_available():
            assert tls is not None
            return start_nginx(base, tls[0], tls[1], _docroot(base, args))
        if name == "s3rver" and s3rver_bin() is not None:
            assert tls is not None
            return start_s3rver(base, tls[0], tls[1])
        if name == "seaweedfs" and weed_bin() is not None:
            assert tls is not None
            return start_seaweedfs(base, tls[0], tls[1])
    except RuntimeError as exc:
        if name == "oortgate":
            raise
        notes.append(f"{name}: failed to start ({exc!s:.200}).")
        return None
    notes.append(f"{name}: not installed, skipped.")
    return None


def _docroot(base: Path, args: argparse.Namespace) -> Path:
    root = base / "www"
    (root / "static").mkdir(parents=True, exist_ok=True)
    for i in range(N_STATIC):
        (root / "static" / f"f{i:05d}.bin").write_bytes(wl_small.body_4k(f"f{i}"))
    scale = SCALES["tiny" if args.tiny else "quick" if args.quick else "full"]
    with (root / "big.bin").open("wb") as f:
        for _ in range(scale.limit_mib):
            f.write(os.urandom(MIB))
    return root


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        sys.exit(130)
