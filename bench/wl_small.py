"""Small-object workloads: 4 KiB PUT/GET/HEAD/DELETE, wrk GET, listing, HEAD latency."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

from . import wrkrun
from .common import (
    emit,
    ensure_bucket,
    fail,
    fill,
    sample,
    timed,
    verify_bodies,
    verify_gone,
    verify_listing,
)
from .context import KIB, Ctx, Measured, row, sampled
from .httpclient import Req

SMALL = 4 * KIB
BUCKET = "bench-small"


def body_4k(key: str) -> bytes:
    """4 KiB that differ per key, so a read-back notices a mix-up."""
    return (key.encode() + b"." * 64)[:64] * (SMALL // 64)


def put_4k(ctx: Ctx) -> None:
    keys = [f"obj/{i:07d}" for i in range(ctx.scale.small_ops)]
    ensure_bucket(ctx, BUCKET)
    reqs = [Req("PUT", ctx.presign("put_object", Bucket=BUCKET, Key=k), body_4k(k)) for k in keys]
    res, m, s = timed(ctx, reqs, ctx.scale.concurrency, ctx.scale.small_secs, SMALL)
    written = [keys[i] for i in sorted(res.ok_indexes)]
    checked = verify_bodies(ctx, m, BUCKET, sample(written), body_4k)
    ctx.state["small_keys"] = written
    ctx.state.pop("small_get_urls", None)
    emit(ctx, "put_4k", m, s, concurrency=ctx.scale.concurrency, object_bytes=SMALL,
         verified=checked)  # fmt: skip


def put_4k_wrk(ctx: Ctx) -> None:
    """4 KiB PUTs driven by wrk (keys under wrk/, each with its own body); afterwards
    every listed key counts and a sample is read back."""
    ensure_bucket(ctx, BUCKET)
    keys = [f"wrk/{i:07d}" for i in range(ctx.scale.small_ops * 4)]
    urls = [ctx.presign("put_object", Bucket=BUCKET, Key=k) for k in keys]
    paths = [urlsplit(u)._replace(scheme="", netloc="").geturl() for u in urls]
    conns = ctx.scale.concurrency
    with sampled(ctx.server.pid) as s:
        r = wrkrun.run(ctx.server.endpoint, paths, ctx.scale.wrk_secs, connections=conns,
                       put_keys=keys)  # fmt: skip
    m = Measured(r.requests, r.duration_s, r.requests * SMALL, [], r.errors)
    pages = ctx.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix="wrk/")
    written = [o["Key"] for page in pages for o in page.get("Contents", [])]
    if not written:
        fail(m, "no object listed after the wrk PUTs")
    checked = verify_bodies(ctx, m, BUCKET, sample(written), body_4k)
    out = row(ctx.server.name, "put_4k_wrk", m, s, ctx.scale.name, client="wrk",
              scheme=ctx.server.scheme, concurrency=conns, object_bytes=SMALL,
              verified=checked)  # fmt: skip
    out["p50_ms"], out["p99_ms"] = round(r.p50_ms, 3), round(r.p99_ms, 3)
    ctx.emit(out)


def _get_urls(ctx: Ctx) -> list[str]:
    """Presigned GETs of the written 4 KiB objects (static files for nginx)."""
    if not ctx.server.s3:
        return [ctx.server.endpoint + p for p in ctx.state["static_paths"]]
    if "small_get_urls" not in ctx.state:  # shared by get_4k and get_4k_wrk
        keys = ctx.state.get("small_keys") or []
        ctx.state["small_get_urls"] = [
            ctx.presign("get_object", Bucket=BUCKET, Key=k) for k in keys
        ]
    urls: list[str] = ctx.state["small_get_urls"]
    return urls


def get_4k(ctx: Ctx) -> None:
    urls = _get_urls(ctx)
    if not urls:
        raise RuntimeError("get_4k needs put_4k first")
    n = ctx.scale.small_ops
    reqs = [Req("GET", urls[i % len(urls)], expect_len=SMALL) for i in range(n)]
    _, m, s = timed(ctx, reqs, ctx.scale.concurrency, ctx.scale.small_secs, SMALL)
    emit(ctx, "get_4k", m, s, concurrency=ctx.scale.concurrency, object_bytes=SMALL)


def get_4k_wrk(ctx: Ctx) -> None:
    urls = _get_urls(ctx)[:5000]
    if not urls:
        raise RuntimeError("get_4k_wrk needs put_4k first")
    paths = [urlsplit(u)._replace(scheme="", netloc="").geturl() for u in urls]
    conns = ctx.scale.concurrency
    with sampled(ctx.server.pid) as s:
        r = wrkrun.run(ctx.server.endpoint, paths, ctx.scale.wrk_secs, connections=conns)
    m = Measured(r.requests, r.duration_s, r.requests * SMALL, [], r.errors)
    out = row(ctx.server.name, "get_4k_wrk", m, s, ctx.scale.name, client="wrk",
              scheme=ctx.server.scheme, concurrency=conns, object_bytes=SMALL)  # fmt: skip
    out["p50_ms"], out["p99_ms"] = round(r.p50_ms, 3), round(r.p99_ms, 3)
    ctx.emit(out)


def head_4k(ctx: Ctx) -> None:
    keys = ctx.state.get("small_keys") or []
    if not keys:
        raise RuntimeError("head_4k needs put_4k first")
    urls = [ctx.presign("head_object", Bucket=BUCKET, Key=k) for k in keys]
    reqs = [Req("HEAD", urls[i % len(urls)]) for i in range(ctx.scale.small_ops)]
    _, m, s = timed(ctx, reqs, ctx.scale.concurrency, ctx.scale.small_secs, 0)
    emit(ctx, "head_4k", m, s, concurrency=ctx.scale.concurrency, object_bytes=SMALL)


def delete_4k(ctx: Ctx) -> None:
    keys = ctx.state.get("small_keys") or []
    if not keys:
        raise RuntimeError("delete_4k needs put_4k first")
    reqs = [
        Req("DELETE", ctx.presign("delete_object", Bucket=BUCKET, Key=k), expect=(204, 200))
        for k in keys
    ]
    res, m, s = timed(ctx, reqs, ctx.scale.concurrency, ctx.scale.small_secs, 0)
    deleted = [keys[i] for i in res.ok_indexes]
    checked = verify_gone(ctx, m, BUCKET, sample(deleted))
    ctx.state["small_keys"] = []
    emit(ctx, "delete_4k", m, s, concurrency=ctx.scale.concurrency, object_bytes=SMALL,
         verified=checked)  # fmt: skip


def list_objects_v2(ctx: Ctx) -> None:
    """Walk a bucket of N keys in pages of 1,000 (start-after, so pages presign ahead)."""
    n, page = ctx.scale.list_keys, 1000
    keys, fm, fs = fill(ctx, "bench-list", [f"list/{i:07d}" for i in range(n)])
    emit(ctx, "put_0b_fill", fm, fs, concurrency=32, object_bytes=0, purpose="fill bench-list")
    urls = []
    for start in range(0, len(keys), page):
        params = {"Bucket": "bench-list", "MaxKeys": page}
        if start:
            params["StartAfter"] = keys[start - 1]
        urls.append(ctx.presign("list_objects_v2", **params))
    reqs = [Req("GET", u) for _ in range(ctx.scale.list_rounds) for u in urls]
    _, m, s = timed(ctx, reqs, 1, max(ctx.scale.small_secs * 4, 10.0))
    listed = verify_listing(ctx, m, "bench-list", keys, page)
    keys_per_s = round(m.ops / max(m.elapsed_s, 1e-9) * len(keys) / max(len(urls), 1), 1)
    emit(ctx, "list_objects_v2", m, s, concurrency=1, n_objects=len(keys), page_size=page,
         keys_per_s=keys_per_s, verified=listed)  # fmt: skip


def head_latency(ctx: Ctx) -> None:
    """HEAD p50/p99 at concurrency 1 in a small bucket and in a big one."""
    for label, n in (("small", ctx.scale.head_small_keys), ("big", ctx.scale.head_big_keys)):
        bucket = f"bench-head-{label}"
        keys, fm, fs = fill(ctx, bucket, [f"h/{i:08d}" for i in range(n)])
        emit(ctx, "put_0b_fill", fm, fs, concurrency=32, object_bytes=0,
             purpose=f"fill {bucket}")  # fmt: skip
        picks = [random.choice(keys) for _ in range(ctx.scale.head_ops)]
        reqs = [Req("HEAD", ctx.presign("head_object", Bucket=bucket, Key=k)) for k in picks]
        _, m, s = timed(ctx, reqs, 1, max(ctx.scale.small_secs * 3, 10.0), 0)
        checked = verify_bodies(ctx, m, bucket, sample(keys, 3), lambda _k: b"")
        if len(keys) != n:
            m.errors += 1
            m.extra.setdefault("first_error", f"filled {len(keys)} of {n} objects")
        emit(ctx, f"head_latency_{label}", m, s, concurrency=1, n_objects=len(keys),
             verified=checked)  # fmt: skip
