"""Helpers the workloads share: timed runs, bucket set-up, filling and verification."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from .context import EXPIRES, Ctx, Measured, row, sampled
from .httpclient import LoadResult, Req, run_load
from .presign import Presigner
from .probes import probed
from .procstat import TreeSampler
from .servers import REGION

VERIFY_SAMPLE = 10


def timed(
    ctx: Ctx,
    reqs: Sequence[Req],
    concurrency: int,
    limit_s: float,
    payload_bytes: int | None = None,
    keep: bool = False,
) -> tuple[LoadResult, Measured, TreeSampler]:
    """Run requests against ctx.server while sampling its CPU and RSS."""
    cafile = ctx.server.client_cafile
    with sampled(ctx.server.pid) as s, probed(ctx.probes) as p:
        res = run_load(reqs, concurrency, limit_s, cafile, ctx.client, keep)
        p.ops = res.ok
    per_op = payload_bytes
    m = Measured.of(res, None if per_op is None else per_op * res.ok)
    m.extra.update(p.fields)
    return res, m, s


def emit(ctx: Ctx, workload: str, m: Measured, s: TreeSampler | None, **extra: Any) -> None:
    extra.setdefault("client", m.extra.get("client", ""))
    extra.setdefault("scheme", ctx.server.scheme)
    ctx.emit(row(ctx.server.name, workload, m, s, ctx.scale.name, **extra))


def ensure_bucket(ctx: Ctx, bucket: str) -> str:
    try:
        ctx.s3.create_bucket(Bucket=bucket)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in (
            "BucketAlreadyOwnedByYou",
            "BucketAlreadyExists",
        ):
            raise
    return bucket


FILL_BATCH = 100_000  # URLs presigned at a time: a million would hold ~0.5 GB at once


def fill(ctx: Ctx, bucket: str, keys: Sequence[str], body: bytes = b"",
         concurrency: int = 32, limit_s: float | None = None,
         ) -> tuple[list[str], Measured, TreeSampler]:  # fmt: skip
    """PUT ``keys`` through the API (presigned in bulk, ``concurrency`` at once, a batch
    at a time, all within ``limit_s`` or else the scale's time bound)."""
    ensure_bucket(ctx, bucket)
    signer = Presigner(ctx.server.endpoint, ctx.server.access_key, ctx.server.secret_key,
                       REGION, EXPIRES)  # fmt: skip
    cafile = ctx.server.client_cafile
    deadline = time.monotonic() + (ctx.scale.populate_secs if limit_s is None else limit_s)
    done: list[str] = []
    total = LoadResult()
    with sampled(ctx.server.pid) as s:
        for start in range(0, len(keys), FILL_BATCH):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            batch = keys[start : start + FILL_BATCH]
            reqs = [Req("PUT", signer.url("PUT", bucket, k), body) for k in batch]
            res = run_load(reqs, concurrency, left, cafile, ctx.client)
            done += [batch[i] for i in sorted(res.ok_indexes)]
            total.ok += res.ok
            total.errors += res.errors
            total.elapsed_s += res.elapsed_s
            total.latencies_s += res.latencies_s
            total.first_error = total.first_error or res.first_error
            total.client = res.client
    return done, Measured.of(total, len(body) * total.ok), s


def sample(keys: Sequence[str], n: int = VERIFY_SAMPLE) -> list[str]:
    return random.sample(list(keys), min(n, len(keys)))


def fail(m: Measured, what: str) -> None:
    m.errors += 1
    m.extra.setdefault("first_error", what)


def verify_bodies(
    ctx: Ctx, m: Measured, bucket: str, keys: Sequence[str], expected: Callable[[str], bytes]
) -> int:
    """Read back ``keys`` with normally signed GETs; a mismatch counts as an error in ``m``."""
    for key in keys:
        try:
            data = ctx.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            fail(m, f"verify GET {key}: {exc}")
            continue
        if data != expected(key):
            fail(m, f"verify GET {key}: {len(data)} bytes differ from what was written")
    return len(keys)


def verify_gone(ctx: Ctx, m: Measured, bucket: str, keys: Sequence[str]) -> int:
    for key in keys:
        try:
            ctx.s3.head_object(Bucket=bucket, Key=key)
            fail(m, f"verify: {key} still there after DELETE")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                fail(m, f"verify HEAD {key}: {exc}")
    return len(keys)


def verify_listing(ctx: Ctx, m: Measured, bucket: str, keys: Sequence[str], page: int) -> int:
    """List the bucket with boto3 (start-after pages) and compare with ``keys``."""
    listed: list[str] = []
    after = ""
    for _ in range(len(keys) // page + 2):
        try:
            resp = ctx.s3.list_objects_v2(Bucket=bucket, MaxKeys=page, StartAfter=after)
        except ClientError as exc:
            fail(m, f"verify ListObjectsV2: {exc}")
            return len(listed)
        got = [o["Key"] for o in resp.get("Contents", [])]
        listed += got
        if not got or not resp.get("IsTruncated"):
            break
        after = got[-1]
    if listed != sorted(keys):
        fail(m, f"verify ListObjectsV2: listed {len(listed)} keys, wrote {len(keys)}")
    return len(listed)
