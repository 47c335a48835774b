"""What every workload shares: the scale of the run, the server, presigning, rows."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from .httpclient import LoadResult, percentile_ms
from .probes import ProbeFactory
from .procstat import TreeSampler
from .servers import REGION, Server

S3Client = Any  # boto3's client is dynamically typed (mypy_boto3_s3 is optional)

KIB = 1024
MIB = 1024 * 1024
EXPIRES = 6 * 3600


@dataclass(frozen=True)
class Scale:
    name: str
    small_ops: int  # at most this many requests per 4 KiB workload
    small_secs: float  # ... and at most this long
    concurrency: int
    big_mib: int  # the "64 MiB" object
    big_reps: int  # rounds of the big PUT/GET/copy workloads
    mpu_mib: int  # the multipart upload's size (16 MiB parts, 4 in parallel)
    list_keys: int
    list_rounds: int
    head_small_keys: int
    head_big_keys: int
    head_ops: int
    wrk_secs: int
    populate_secs: float  # bound on filling a bucket through the API
    limit_mib: int  # hash / fdatasync / TLS transfer size
    stream_mib: int = 0  # one object streamed up and down for the peak-RSS check; 0: skip
    complete_parts: int = 0  # parts of 5 MiB in the CompleteMultipartUpload timing; 0: skip
    hot_versions: int = 0  # versions of the hot key among the listed ones (bench.wl_versions)
    expire_objects: int = 0  # objects the lifecycle workload expires


SCALES = {
    "full": Scale("full", 20000, 15.0, 32, 64, 3, 256, 10000, 10, 1000, 1_000_000, 3000, 10,
                  900.0, 256, 5120, 1000, hot_versions=10_000, expire_objects=10_000),
    "quick": Scale("quick", 3000, 2.0, 32, 64, 1, 128, 2000, 5, 1000, 10_000, 500, 2,
                   120.0, 256, 1024, 100, hot_versions=2000, expire_objects=2000),
    "tiny": Scale("tiny", 40, 5.0, 4, 1, 1, 32, 100, 1, 20, 50, 20, 1, 30.0, 4,
                  hot_versions=100, expire_objects=50),
}  # fmt: skip


@dataclass
class Ctx:
    server: Server
    scale: Scale
    client: str
    emit: Callable[[dict[str, Any]], None]
    use_wrk: bool = False
    use_curl: bool = False  # curl uploads the large PUTs (see bench.curlrun)
    state: dict[str, Any] = field(default_factory=dict)
    probes: list[ProbeFactory] = field(default_factory=list)  # measured beside the server's CPU
    _s3: S3Client | None = None

    @property
    def s3(self) -> S3Client:
        """A boto3 client (SigV4) for presigning, setup, multipart and verification."""
        if self._s3 is None:
            self._s3 = boto3.session.Session().client(
                "s3",
                endpoint_url=self.server.endpoint,
                region_name=REGION,
                aws_access_key_id=self.server.access_key,
                aws_secret_access_key=self.server.secret_key,
                verify=self.server.cafile if self.server.cafile else False,
                config=Config(
                    signature_version="s3v4",
                    s3={"addressing_style": "path"},
                    max_pool_connections=16,
                    retries={"total_max_attempts": 2},
                    read_timeout=300,
                ),
            )
        return self._s3

    def presign(self, op: str, **params: Any) -> str:
        return str(self.s3.generate_presigned_url(op, Params=params, ExpiresIn=EXPIRES))


@dataclass
class Measured:
    """What a workload measured; turned into a result row by :func:`row`."""

    ops: int
    elapsed_s: float
    bytes_moved: int = 0
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, res: LoadResult, payload_bytes: int | None = None) -> Measured:
        moved = payload_bytes if payload_bytes is not None else res.bytes_in + res.bytes_out
        m = cls(res.ok, res.elapsed_s, moved, res.latencies_s, res.errors)
        m.extra["client"] = res.client
        if res.first_error:
            m.extra["first_error"] = res.first_error
        return m


@contextmanager
def sampled(pid: int | None) -> Iterator[TreeSampler]:
    with TreeSampler(pid) as s:
        yield s


def row(
    server: str,
    workload: str,
    m: Measured,
    sampler: TreeSampler | None,
    mode: str,
    **extra: Any,
) -> dict[str, Any]:
    el = max(m.elapsed_s, 1e-9)
    out: dict[str, Any] = {
        "server": server,
        "workload": workload,
        "mode": mode,
        "ops": m.ops,
        "ops_per_s": round(m.ops / el, 2),
        "mb_per_s": round(m.bytes_moved / el / 1e6, 2),
        "p50_ms": round(percentile_ms(m.latencies_s, 0.50), 3),
        "p99_ms": round(percentile_ms(m.latencies_s, 0.99), 3),
        "errors": m.errors,
        "server_cpu_s": round(sampler.cpu_s, 3) if sampler else 0.0,
        "server_peak_rss_mb": round(sampler.peak_rss_mb, 1) if sampler else 0.0,
        "elapsed_s": round(m.elapsed_s, 3),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    out.update(m.extra)
    out.update(extra)
    return out
