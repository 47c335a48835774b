"""What versioning costs through HTTPS, against the same operations on a never-versioned
bucket of the same server, with the same client in the same run (the ratio is the number).

* ``versioned``: 4 KiB PUTs over existing keys (each one makes a noncurrent version in the
  versioned bucket) and 4 KiB GETs of them, in a versioned and an unversioned bucket.
* ``hot_versions``: a ListObjectsV2 page of the same keys (up to 1,000) and a GET of one
  of them, in a never-versioned bucket and in a versioned one where that key has
  ``scale.hot_versions`` versions (10,000 at full scale), plus the first
  ListObjectVersions page in both. The versions are written through the API like any
  client's, presigned PUTs of 0 bytes one after another (about half a minute for 10,000
  on oortgate, over a minute on moto), so the peers get exactly the same buckets.

Each pair of timed loops runs in halves, A B B A, so a shared machine's drift weighs on
both sides alike. Every listing answer in a timed loop must have the byte length of the
page that boto3 checked key by key beforehand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from botocore.exceptions import ClientError

from .common import emit, ensure_bucket, fail, fill, sample, timed, verify_bodies, verify_listing
from .context import Ctx, Measured
from .httpclient import Req, run_load
from .procstat import TreeSampler
from .wl_small import SMALL, body_4k

PAGE = 1000
HOT_FILL_SECS = 180.0  # oortgate writes 10,000 versions one at a time in about 30 s
FILL_BODY = b"f" * SMALL  # same length as body_4k: a GET of a key not overwritten still fits


def versioned_bucket(ctx: Ctx, bucket: str) -> str:
    ensure_bucket(ctx, bucket)
    ctx.s3.put_bucket_versioning(Bucket=bucket,
                                 VersioningConfiguration={"Status": "Enabled"})  # fmt: skip
    return bucket


def alternated(
    ctx: Ctx,
    pair: Mapping[str, Sequence[Req]],
    concurrency: int,
    limit_s: float,
    payload: int | None = None,
) -> dict[str, tuple[Measured, TreeSampler, list[int]]]:
    """Run each side's requests in two halves, A B B A; per side the merged measurement,
    the server's CPU and peak RSS over its halves, and the indexes that succeeded."""
    (a, reqs_a), (b, reqs_b) = pair.items()
    halves = {a: _halves(reqs_a), b: _halves(reqs_b)}
    done: dict[str, list[tuple[Measured, TreeSampler, list[int]]]] = {a: [], b: []}
    for side, half in ((a, 0), (b, 0), (b, 1), (a, 1)):
        offset, reqs = halves[side][half]
        res, m, s = timed(ctx, reqs, concurrency, limit_s / 2, payload)
        done[side].append((m, s, [offset + i for i in res.ok_indexes]))
    return {side: _merged(parts) for side, parts in done.items()}


def _halves(reqs: Sequence[Req]) -> list[tuple[int, Sequence[Req]]]:
    mid = (len(reqs) + 1) // 2
    return [(0, reqs[:mid]), (mid, reqs[mid:])]


def _merged(parts: list[tuple[Measured, TreeSampler, list[int]]]) -> tuple[
    Measured, TreeSampler, list[int]
]:  # fmt: skip
    m, sampler, ok = Measured(0, 0.0), TreeSampler(None), []
    for part, s, indexes in parts:
        m.ops += part.ops
        m.elapsed_s += part.elapsed_s
        m.bytes_moved += part.bytes_moved
        m.latencies_s += part.latencies_s
        m.errors += part.errors
        m.extra = {**part.extra, **m.extra}  # the first half's first_error wins
        sampler.cpu_s += s.cpu_s
        sampler.peak_rss_mb = max(sampler.peak_rss_mb, s.peak_rss_mb)
        ok += indexes
    return m, sampler, ok


def put_get_versioned(ctx: Ctx) -> None:
    keys = [f"v/{i:05d}" for i in range(min(PAGE, ctx.scale.list_keys))]
    buckets = {"unversioned": ensure_bucket(ctx, "bench-ver-off"),
               "versioned": versioned_bucket(ctx, "bench-ver-on")}  # fmt: skip
    for bucket in buckets.values():
        written, fm, fs = fill(ctx, bucket, keys, FILL_BODY)
        if len(written) != len(keys):
            fail(fm, f"filled {len(written)} of {len(keys)} objects")
        emit(ctx, "put_4k_fill", fm, fs, concurrency=32, object_bytes=SMALL,
             purpose=f"fill {bucket}")  # fmt: skip
    n, conc, secs = ctx.scale.small_ops, ctx.scale.concurrency, ctx.scale.small_secs
    cycle = [keys[i % len(keys)] for i in range(n)]
    puts = {label: [Req("PUT", ctx.presign("put_object", Bucket=b, Key=k), body_4k(k))
                    for k in cycle] for label, b in buckets.items()}  # fmt: skip
    for label, (m, s, ok) in alternated(ctx, puts, conc, secs * 2, SMALL).items():
        overwritten = sorted({cycle[i] for i in ok})
        checked = verify_bodies(ctx, m, buckets[label], sample(overwritten), body_4k)
        if label == "versioned":
            _expect_noncurrent(ctx, m, buckets[label], sample(overwritten, 3))
        emit(ctx, f"ver_put_4k_{label}", m, s, concurrency=conc, object_bytes=SMALL,
             n_objects=len(keys), verified=checked)  # fmt: skip
    gets = {label: [Req("GET", ctx.presign("get_object", Bucket=b, Key=k), expect_len=SMALL)
                    for k in cycle] for label, b in buckets.items()}  # fmt: skip
    for label, (m, s, _) in alternated(ctx, gets, conc, secs * 2, SMALL).items():
        emit(ctx, f"ver_get_4k_{label}", m, s, concurrency=conc, object_bytes=SMALL,
             n_objects=len(keys))  # fmt: skip


def _expect_noncurrent(ctx: Ctx, m: Measured, bucket: str, keys: Sequence[str]) -> None:
    """An overwrite in the versioned bucket must have kept the version it replaced."""
    for key in keys:
        resp = ctx.s3.list_object_versions(Bucket=bucket, Prefix=key)
        if len(resp.get("Versions", [])) < 2:
            fail(m, f"verify: {key} has {len(resp.get('Versions', []))} version(s) after "
                 "an overwrite in a versioned bucket")  # fmt: skip


def hot_key_listing(ctx: Ctx) -> None:
    keys = [f"k{i:04d}" for i in range(min(PAGE, ctx.scale.list_keys))]
    hot, wanted = keys[len(keys) // 2], ctx.scale.hot_versions
    buckets = {"unversioned": ensure_bucket(ctx, "bench-hot-off"),
               "hot": versioned_bucket(ctx, "bench-hot-on")}  # fmt: skip
    # The hot key's versions one after another, as one writer makes them: moto loses
    # versions of a key written concurrently (494 of 500 at 32 at once, 496 at 4).
    # Bounded: moto slows down as the key grows (40 PUT/s at 2,000 versions), and a peer
    # that cannot write them in time gets rows marked with the error, not a stalled run.
    fills = [(b, keys, 32) for b in buckets.values()] + [(buckets["hot"], [hot] * (wanted - 1), 1)]
    for bucket, writes, conc in fills:
        written, fm, fs = fill(ctx, bucket, writes, concurrency=conc, limit_s=HOT_FILL_SECS)
        if len(written) != len(writes):
            fail(fm, f"wrote {len(written)} of {len(writes)} objects or versions in "
                 f"{HOT_FILL_SECS:g} s")  # fmt: skip
        emit(ctx, "put_0b_fill", fm, fs, concurrency=conc, object_bytes=0,
             purpose=f"fill {bucket}")  # fmt: skip
    versions = _count_versions(ctx, buckets["hot"], hot)

    def checked(label: str, m: Measured) -> Measured:
        if label == "hot" and versions != wanted:
            fail(m, f"{hot} has {versions} versions, {wanted} written")
        return m

    rounds, secs = ctx.scale.head_ops, ctx.scale.small_secs

    def repeated(op: str, **params: object) -> dict[str, list[Req]]:
        return {label: [_sized(ctx, op, Bucket=b, **params)] * rounds
                for label, b in buckets.items()}  # fmt: skip

    for label, (m, s, _) in alternated(ctx, repeated("list_objects_v2", MaxKeys=PAGE), 1,
                                       secs).items():  # fmt: skip
        listed = verify_listing(ctx, checked(label, m), buckets[label], keys, PAGE)
        emit(ctx, f"ver_list_{label}", m, s, concurrency=1, n_objects=len(keys), page_size=PAGE,
             verified=listed, hot_versions=versions)  # fmt: skip
    gets = {label: [Req("GET", ctx.presign("get_object", Bucket=b, Key=hot), expect_len=0)]
            * rounds for label, b in buckets.items()}  # fmt: skip
    for label, (m, s, _) in alternated(ctx, gets, 1, secs).items():
        emit(ctx, f"ver_get_key_{label}", checked(label, m), s, concurrency=1,
             hot_versions=versions)  # fmt: skip
    for label, (m, s, _) in alternated(ctx, repeated("list_object_versions", MaxKeys=PAGE), 1,
                                       secs).items():  # fmt: skip
        entries = _first_versions_page(ctx, checked(label, m), buckets[label])
        expected = min(PAGE, len(keys) - 1 + (wanted if label == "hot" else 1))
        if entries != expected:
            fail(m, f"first ListObjectVersions page: {entries} entries, not {expected}")
        emit(ctx, f"ver_list_versions_{label}", m, s, concurrency=1, page_size=PAGE,
             verified=entries, n_objects=expected, hot_versions=versions)  # fmt: skip


def _sized(ctx: Ctx, op: str, **params: object) -> Req:
    """A presigned listing that must answer with exactly the bytes it answers now."""
    req = Req("GET", ctx.presign(op, **params))
    probe = run_load([req], 1, 60.0, ctx.server.client_cafile, ctx.client)
    if probe.ok != 1:
        raise RuntimeError(f"{op} {params}: {probe.first_error}")
    return Req("GET", req.url, expect_len=probe.bytes_in)


def _count_versions(ctx: Ctx, bucket: str, key: str) -> int:
    pages = ctx.s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key)
    return sum(1 for p in pages for v in p.get("Versions", []) if v["Key"] == key)


def _first_versions_page(ctx: Ctx, m: Measured, bucket: str) -> int:
    try:
        resp = ctx.s3.list_object_versions(Bucket=bucket, MaxKeys=PAGE)
    except ClientError as exc:
        fail(m, f"verify ListObjectVersions: {exc}")
        return 0
    return len(resp.get("Versions", [])) + len(resp.get("DeleteMarkers", []))
