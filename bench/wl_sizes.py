"""What must not grow with an object's size: the server's memory while one very large
object (5 GiB in the full run) streams up and down, and the time to complete a multipart
upload of many parts."""

from __future__ import annotations

import hashlib
import time

from . import curlrun
from .common import emit, ensure_bucket, fail, timed
from .context import MIB, Ctx, Measured, sampled
from .httpclient import Req
from .wl_big import payload

BUCKET = "bench-stream"
BLOCK = bytes(MIB)


def _zeros_md5(nbytes: int) -> str:
    md5 = hashlib.md5()
    for _ in range(nbytes // MIB):
        md5.update(BLOCK)
    md5.update(bytes(nbytes % MIB))
    return md5.hexdigest()


def stream(ctx: Ctx) -> None:
    nbytes = ctx.scale.stream_mib * MIB
    if not nbytes:
        return
    if not curlrun.available():
        raise RuntimeError("the stream workload needs curl")
    ensure_bucket(ctx, BUCKET)
    key = f"stream/{ctx.scale.stream_mib}m"
    cafile = ctx.server.client_cafile
    put_url = ctx.presign("put_object", Bucket=BUCKET, Key=key)
    get_url = ctx.presign("get_object", Bucket=BUCKET, Key=key)
    with sampled(ctx.server.pid) as s:
        up_s = curlrun.put_zeros(put_url, nbytes, cafile)
        received, down_s = curlrun.get_size(get_url, cafile)
    m = Measured(2, up_s + down_s, 2 * nbytes, [up_s, down_s], 0)
    head = ctx.s3.head_object(Bucket=BUCKET, Key=key)
    if head["ContentLength"] != nbytes or head["ETag"].strip('"') != _zeros_md5(nbytes):
        fail(m, f"verify HEAD {key}: {head['ContentLength']} bytes, ETag {head['ETag']}")
    if received != nbytes:
        fail(m, f"verify GET {key}: {received} bytes of {nbytes}")
    ctx.s3.delete_object(Bucket=BUCKET, Key=key)
    emit(ctx, f"stream_{ctx.scale.stream_mib}m", m, s, client="curl", object_bytes=nbytes,
         up_mb_per_s=round(nbytes / MIB / up_s, 1), down_mb_per_s=round(nbytes / MIB / down_s, 1),
         verified=1)  # fmt: skip


def complete_many(ctx: Ctx) -> None:
    """CompleteMultipartUpload of N parts of 5 MiB (1,000 in the full run), timed alone:
    it writes a manifest, so it must take a small fraction of what reading the bytes
    once (at the machine's MD5 rate) would."""
    parts = ctx.scale.complete_parts
    if not parts:
        return
    ensure_bucket(ctx, BUCKET)
    body = payload(5 * MIB)
    etag = f'"{hashlib.md5(body).hexdigest()}"'
    key = f"complete/{parts}"
    upload_id = ctx.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    reqs = [
        Req("PUT", ctx.presign("upload_part", Bucket=BUCKET, Key=key, UploadId=upload_id,
                               PartNumber=n), body)
        for n in range(1, parts + 1)
    ]  # fmt: skip
    res, _, _ = timed(ctx, reqs, 4, 1800.0, len(body))
    listing = {"Parts": [{"PartNumber": n, "ETag": etag} for n in range(1, parts + 1)]}
    with sampled(ctx.server.pid) as s:
        start = time.perf_counter()
        done = ctx.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                                MultipartUpload=listing)  # fmt: skip
        elapsed = time.perf_counter() - start
    m = Measured(1, elapsed, parts * len(body), [elapsed], res.errors)
    head = ctx.s3.head_object(Bucket=BUCKET, Key=key)
    if head["ContentLength"] != parts * len(body) or not done["ETag"].endswith(f'-{parts}"'):
        fail(m, f"verify {key}: {head['ContentLength']} bytes, ETag {done['ETag']}")
    edge = len(body) * (parts // 2)
    got = ctx.s3.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={edge - 3}-{edge + 2}")
    if got["Body"].read() != body[-3:] + body[:3]:
        fail(m, f"verify {key}: bytes across a part boundary differ")
    ctx.s3.delete_object(Bucket=BUCKET, Key=key)
    emit(ctx, f"complete_{parts}_parts", m, s, client="boto3", object_bytes=parts * len(body),
         parts=parts, verified=1)  # fmt: skip
