"""Which endpoint a request came through, from its Host header. Pure.

Two endpoints, two tiers: ``s3-standard.<domain>`` and ``s3-archive.<domain>`` by
default. ``<bucket>.<endpoint>`` is virtual-host style (the SDKs' default). Any other
host (an IP address, localhost) is path style with no tier of its own: it reaches
buckets of either tier.
"""

from __future__ import annotations

import functools

from oortgate.endpoints import ARCHIVE, STANDARD, Addressed, Endpoints
from oortgate.errors import S3Error
from oortgate.headertext import is_text


def strip_port(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@functools.lru_cache(maxsize=4096)  # every request asks; clients send few distinct hosts
def resolve(host_header: str | None, endpoints: Endpoints) -> Addressed:
    host = strip_port(host_header or "")
    for tier, name in ((STANDARD, endpoints.standard), (ARCHIVE, endpoints.archive)):
        if host == name:
            return Addressed(tier, None)
        if name and host.endswith("." + name) and len(host) > len(name) + 1:
            bucket = host[: -len(name) - 1]
            if not is_text(bucket):  # a byte that was not UTF-8: never a bucket name
                raise S3Error("InvalidBucketName", BucketName=bucket)
            return Addressed(tier, bucket)
    return Addressed(None, None)
