"""Per-process services and the per-request context handed to every handler."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from oortgate.config import Settings
from oortgate.errors import S3Error
from oortgate.http.body import Body
from oortgate.http.routing import Route
from oortgate.meta.base import MetaStore
from oortgate.meta.models import Bucket, User
from oortgate.storage.base import BlobStore

P = ParamSpec("P")
T = TypeVar("T")


class Services:
    """What one worker process shares between requests.

    The metadata store has one connection, used from one thread: SQLite serialises
    writers anyway, and the event loop never blocks on a commit's fsync.
    """

    def __init__(self, settings: Settings, meta: MetaStore, blobs: BlobStore) -> None:
        self.settings = settings
        self.meta = meta
        self.blobs = blobs
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meta")

    async def db(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self.meta.close()


@dataclass(slots=True)
class Context:
    services: Services
    route: Route
    method: str
    headers: dict[str, str]
    query: dict[str, str]
    user: User
    body: Body
    request_id: str

    @property
    def meta(self) -> MetaStore:
        return self.services.meta

    @property
    def key(self) -> str:
        assert self.route.key is not None, "object operations always carry a key"
        return self.route.key

    async def owned_bucket(self, name: str | None = None) -> Bucket:
        """The named bucket (default: the route's), which the caller must own."""
        name = name if name is not None else self.route.bucket
        assert name is not None
        bucket = await self.services.db(self.meta.get_bucket, name)
        if bucket is None:
            raise S3Error("NoSuchBucket", BucketName=name)
        if bucket.owner_id != self.user.id:
            raise S3Error("AccessDenied")
        return bucket
