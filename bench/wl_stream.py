"""One very large object (5 GiB in the full run) streamed up and down while the server's
peak RSS is sampled: memory must not grow with the object."""

from __future__ import annotations

import hashlib

from . import curlrun
from .common import emit, ensure_bucket, fail
from .context import MIB, Ctx, Measured, sampled

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
    cafile = ctx.server.cafile if ctx.server.scheme == "https" else None
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
