"""Health endpoints for load balancers: no authentication, no rate limit, cheap.

They live under ``/_health/``: "_" cannot begin a bucket name, so no bucket is shadowed.
``live``: the process answers. ``ready``: the metadata store answers, the blob store
answers (a RADOS cluster within ``BLOB_PING_TIMEOUT``) and the data directory (and a
blob_url directory) is writable; on a full disk (or below
``min_free_space``) it still answers 200, with "degraded: no space": reads and deletes
work, and a load balancer that took the server out would make its data unreadable. So
with a shared rate limit whose Redis is unusable: 200 "degraded: rate limit store ..."
(its fallback decides meanwhile); the limiter caches its check for a second, so a load
balancer's probes cost Redis nothing.
"""

from __future__ import annotations

import asyncio
import os

from oortgate.ops.context import Services
from oortgate.ops.response import Response
from oortgate.ratelimit_base import RateLimiter
from oortgate.store_urls import DirectoryBlobs

PREFIX = "/_health/"
BLOB_DIR_TIMEOUT = 2.0  # seconds a blob directory's mount may take to answer
BLOB_PING_TIMEOUT = 2.0  # seconds the blob store (a RADOS cluster) may take to answer


def _text(status: int, body: str) -> Response:
    return Response(status, [("content-type", "text/plain; charset=utf-8"),
                             ("cache-control", "no-store")], body.encode())  # fmt: skip


async def health_response(
    path: str, services: Services, limiter: RateLimiter | None = None
) -> Response | None:
    """The answer for a health path, or None if the path is not one."""
    if not path.startswith(PREFIX):
        return None
    what = path[len(PREFIX) :]
    if what == "live":
        return _text(200, "ok\n")
    if what == "ready":
        try:
            await services.meta.ping()
            if not os.access(services.settings.data_dir, os.W_OK):
                return _text(503, "data directory not writable\n")
            if not await _blob_dirs_writable(services):
                return _text(503, "blob directory not writable\n")
        except Exception as exc:  # any failure means "not ready", with the reason
            return _text(503, f"metadata store unavailable: {type(exc).__name__}\n")
        try:
            await asyncio.wait_for(services.blobs.ping(), BLOB_PING_TIMEOUT)
        except Exception as exc:  # TimeoutError too: a cluster that does not answer
            return _text(503, f"blob store unavailable: {type(exc).__name__}\n")
        problems = [services.space.low(), await limiter.health() if limiter else None]
        degraded = "; ".join(p for p in problems if p)
        return _text(200, f"degraded: {degraded}\n" if degraded else "ready\n")
    return _text(404, "unknown health check\n")


async def _blob_dirs_writable(services: Services) -> bool:
    """A blob_url directory (maybe a network mount: asked on a thread, and a mount that
    does not answer within the time counts as not writable)."""
    settings = services.settings
    for location in {settings.blob_location, settings.archive_blob_location}:
        if isinstance(location, DirectoryBlobs):
            probe = services.offload(os.access, location.path, os.W_OK)
            try:
                if not await asyncio.wait_for(probe, BLOB_DIR_TIMEOUT):
                    return False
            except TimeoutError:
                return False
    return True
