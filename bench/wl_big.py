"""Large-object workloads: 64 MiB PUT/GET (1 and 4 streams), multipart upload, copy."""

from __future__ import annotations

import hashlib
import io
import os
import time
from functools import cache

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from . import curlrun
from .common import emit, ensure_bucket, fail, timed
from .context import MIB, Ctx, Measured, sampled
from .httpclient import Req, run_load
from .probes import probed

BUCKET = "bench-big"
BIG_SECS = 600.0


@cache
def payload(nbytes: int) -> bytes:
    return os.urandom(nbytes)


@cache
def payload_md5(nbytes: int) -> str:
    return hashlib.md5(payload(nbytes)).hexdigest()


def _read_md5(ctx: Ctx, key: str) -> tuple[str, int]:
    """GET ``key`` (presigned, untimed) hashing the body: (md5 hex, bytes)."""
    url = ctx.presign("get_object", Bucket=BUCKET, Key=key)
    cafile = ctx.server.client_cafile
    res = run_load([Req("GET", url, md5=True)], 1, BIG_SECS, cafile, ctx.client, keep=True)
    out = res.outcomes.get(0)
    return (out.md5, out.nbytes) if out and res.ok else ("", 0)


def _nbytes(ctx: Ctx) -> int:
    return ctx.scale.big_mib * MIB


def _label(ctx: Ctx) -> str:
    return f"{ctx.scale.big_mib}m"


def put_big(ctx: Ctx, streams: int) -> None:
    size = _nbytes(ctx)
    body = payload(size)
    ensure_bucket(ctx, BUCKET)
    keys = [f"big/x{streams}/{i}" for i in range(streams * ctx.scale.big_reps)]
    urls = [ctx.presign("put_object", Bucket=BUCKET, Key=k) for k in keys]
    if ctx.use_curl:  # see curlrun: the client must not be what is measured
        with sampled(ctx.server.pid) as s, probed(ctx.probes) as p:
            cafile = ctx.server.client_cafile
            m, good = curlrun.put(urls, body, streams, cafile)
            p.ops = m.ops
        m.extra.update(p.fields)
        written = [k for k, ok in zip(keys, good, strict=True) if ok]
    else:
        res, m, s = timed(ctx, [Req("PUT", u, body) for u in urls], streams, BIG_SECS, size)
        written = [keys[i] for i in sorted(res.ok_indexes)]
    md5, n = _read_md5(ctx, written[0]) if written else ("", 0)
    if md5 != payload_md5(size) or n != size:
        fail(m, f"verify GET {written[:1]}: {n} bytes, md5 {md5!r} differs")
    ctx.state[f"big_x{streams}"] = written
    emit(ctx, f"put_{_label(ctx)}_x{streams}", m, s, concurrency=streams, object_bytes=size,
         verified=1)  # fmt: skip


def get_big(ctx: Ctx, streams: int) -> None:
    size = _nbytes(ctx)
    keys = ctx.state.get(f"big_x{streams}") or []
    if not keys:
        raise RuntimeError(f"get_big x{streams} needs put_big x{streams} first")
    urls = [ctx.presign("get_object", Bucket=BUCKET, Key=k) for k in keys]
    n = streams * ctx.scale.big_reps
    reqs = [Req("GET", urls[i % len(urls)], expect_len=size) for i in range(n)]
    _, m, s = timed(ctx, reqs, streams, BIG_SECS, size)
    emit(ctx, f"get_{_label(ctx)}_x{streams}", m, s, concurrency=streams, object_bytes=size)


def multipart(ctx: Ctx) -> None:
    """boto3 upload_fileobj: 16 MiB parts, 4 in parallel (boto3 signs, as a client would)."""
    size, part = ctx.scale.mpu_mib * MIB, 16 * MIB
    data = payload(size)
    ensure_bucket(ctx, BUCKET)
    cfg = TransferConfig(multipart_threshold=part, multipart_chunksize=part, max_concurrency=4,
                         use_threads=True)  # fmt: skip
    key = f"mpu/{ctx.scale.mpu_mib}m"
    with sampled(ctx.server.pid) as s:
        t0 = time.perf_counter()
        ctx.s3.upload_fileobj(io.BytesIO(data), BUCKET, key, Config=cfg)
        elapsed = time.perf_counter() - t0
    m = Measured(1, elapsed, size, [elapsed], 0)
    checked = 0
    try:
        head = ctx.s3.head_object(Bucket=BUCKET, Key=key)
        if head["ContentLength"] != size:
            fail(m, f"verify HEAD {key}: ContentLength {head['ContentLength']}, wrote {size}")
        for off in (0, size // 2 - 7, size - 4096):  # slices across part boundaries
            rng = f"bytes={off}-{off + 4095}"
            got = ctx.s3.get_object(Bucket=BUCKET, Key=key, Range=rng)["Body"].read()
            if got != data[off : off + 4096]:
                fail(m, f"verify GET {key} {rng}: bytes differ")
            checked += 1
    except ClientError as exc:
        fail(m, f"verify {key}: {exc}")
    emit(ctx, f"multipart_{ctx.scale.mpu_mib}m", m, s, concurrency=4, object_bytes=size,
         part_bytes=part, parts=size // part, verified=checked, client="boto3")  # fmt: skip


def copy(ctx: Ctx, big: bool) -> None:
    """CopyObject (presigned, x-amz-copy-source signed); one at a time."""
    ensure_bucket(ctx, BUCKET)
    if big:
        size = _nbytes(ctx)
        src = (ctx.state.get("big_x1") or [""])[0]
        if not src:
            raise RuntimeError("copy of the big object needs put_big x1 first")
        name = f"copy_{_label(ctx)}"
    else:
        size, src = 4096, "copy/src-4k"
        ctx.s3.put_object(Bucket=BUCKET, Key=src, Body=payload(size))
        name = "copy_4k"
    reps = max(2, 2 * ctx.scale.big_reps)
    source = f"{BUCKET}/{src}"  # keys are URL-safe, so boto3 signs this very value
    keys = [f"copy/{name}/{i}" for i in range(reps)]
    reqs = [
        Req("PUT", ctx.presign("copy_object", Bucket=BUCKET, Key=k, CopySource=source),
            headers={"x-amz-copy-source": source})
        for k in keys
    ]  # fmt: skip
    res, m, s = timed(ctx, reqs, 1, BIG_SECS, size, keep=True)
    for i, out in res.outcomes.items():
        if b"CopyObjectResult" not in out.body:  # S3 may say 200 with an <Error> body
            fail(m, f"copy {keys[i]}: {out.body[:200]!r}")
    done = [keys[i] for i in sorted(res.ok_indexes)]
    verified = 0
    if done:
        md5, n = _read_md5(ctx, done[-1])
        if md5 != payload_md5(size) or n != size:
            fail(m, f"verify GET {done[-1]}: {n} bytes, md5 {md5!r} differs")
        verified = 1
    emit(ctx, name, m, s, concurrency=1, object_bytes=size, verified=verified)


def put_big_all(ctx: Ctx) -> None:
    put_big(ctx, 1)
    put_big(ctx, 4)


def get_big_all(ctx: Ctx) -> None:
    get_big(ctx, 1)
    get_big(ctx, 4)


def copy_all(ctx: Ctx) -> None:
    copy(ctx, big=True)
    copy(ctx, big=False)
