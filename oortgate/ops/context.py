"""Per-process services and the per-request context handed to every handler."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from oortgate import policy
from oortgate.config import Settings
from oortgate.endpoints import Addressed
from oortgate.errors import S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, Bucket, ObjectRecord, User
from oortgate.ops.body import Body
from oortgate.storage.base import BlobStore
from oortgate.storage.space import SpaceGuard, StorageFull

OFFLOAD_THREADS = 32
P = ParamSpec("P")
T = TypeVar("T")


class Services:
    """What one worker process shares between requests: the stores (async interfaces:
    their implementations run their own blocking work off the event loop), the disk
    space guard, and a thread pool for the handlers' own CPU work (hashing a body)."""

    def __init__(self, settings: Settings, meta: MetaStore, blobs: BlobStore) -> None:
        self.settings = settings
        self.meta = meta
        self.blobs = blobs
        self.space = SpaceGuard(
            settings.data_dir, settings.free_space_minimum, settings.space_reserve_bytes
        )
        self._offload = ThreadPoolExecutor(max_workers=OFFLOAD_THREADS, thread_name_prefix="work")

    async def offload(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking or CPU-heavy work (a digest, a statvfs) off the event loop."""
        loop = asyncio.get_running_loop()
        result: T = await loop.run_in_executor(self._offload, lambda: fn(*args, **kwargs))
        return result

    async def freeing(
        self, call: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Await a store call that frees space (a delete): on a full disk, the space
        reserve is given up and the call tried again, so that space can be freed."""
        try:
            return await call(*args, **kwargs)
        except StorageFull:
            if not await self.offload(self.space.release_reserve):
                raise
        return await call(*args, **kwargs)

    async def close(self) -> None:
        self._offload.shutdown(wait=True)
        await self.meta.close()
        await self.blobs.close()


async def credentials(services: Services, access_key: str) -> tuple[AccessKey, User]:
    """The enabled key and its user (also for credentials carried in a POST form)."""
    found = await services.meta.get_credentials(access_key)
    if found is None or not found[0].enabled:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return found


@dataclass(slots=True)  # one per request: not frozen, for a cheap __init__
class Route:
    op: str
    bucket: str | None = None
    key: str | None = None


NO_ENDPOINT = Addressed(None, None)
EXPECTED_OWNER = "x-amz-expected-bucket-owner"
SOURCE_EXPECTED_OWNER = "x-amz-source-expected-bucket-owner"  # CopyObject, UploadPartCopy
_ACCOUNT_ID = re.compile(r"[0-9]{12}|[0-9a-fA-F]{64}")


def check_expected_owner(expected: str, owner_canonical_id: str) -> None:
    """x-amz-expected-bucket-owner names an account; here the bucket owner's canonical
    id (users have no 12-digit AWS account id, which therefore never matches)."""
    if not _ACCOUNT_ID.fullmatch(expected):
        raise S3Error(
            "InvalidBucketOwnerAWSAccountID",
            "The value of the expected bucket owner parameter must be an AWS Account ID",
        )
    if expected.lower() != owner_canonical_id.lower():
        raise S3Error("AccessDenied")


ANONYMOUS_ID = "65a011a29cdf8ec533ec3d1ccaae921c"  # the canonical id AWS shows for anonymous


@dataclass(slots=True)
class Context:
    services: Services
    route: Route
    method: str
    headers: dict[str, str]
    query: dict[str, str]
    user: User | None  # None: an anonymous request
    body: Body
    request_id: str
    addressed: Addressed = NO_ENDPOINT  # the endpoint (tier) the request came to

    @property
    def meta(self) -> MetaStore:
        return self.services.meta

    @property
    def key(self) -> str:
        assert self.route.key is not None, "object operations always carry a key"
        return self.route.key

    @property
    def caller_id(self) -> int | None:
        return None if self.user is None else self.user.id

    def signed_in(self) -> User:
        """The caller, for operations anonymous requests can never perform."""
        if self.user is None:
            raise S3Error("AccessDenied")
        return self.user

    async def bucket(
        self, name: str | None = None, *, any_tier: bool = False, owner_header: str = EXPECTED_OWNER
    ) -> Bucket:
        """The named bucket (default: the route's); no permission checked, but its owner
        must be the one ``owner_header`` names, if sent. Unless ``any_tier`` (a copy
        source, named in a header like a source in another AWS region), it must belong
        to the tier of the endpoint the request came to."""
        name = name if name is not None else self.route.bucket
        assert name is not None
        bucket = await self.services.meta.get_bucket(name)
        if bucket is None:
            raise S3Error("NoSuchBucket", BucketName=name)
        expected = self.headers.get(owner_header)
        if expected is not None:
            check_expected_owner(expected, (await self.owner_info(bucket.owner_id))[0])
        tier = None if any_tier else self.addressed.tier
        if tier is not None and bucket.tier != tier and not self.services.settings.serve_cross_tier:
            endpoint = self.services.settings.endpoints.host_of(bucket.tier)
            if self.addressed.bucket is not None:
                endpoint = f"{bucket.name}.{endpoint}"
            raise S3Error(
                "PermanentRedirect",
                "The bucket you are attempting to access must be addressed using the specified "
                "endpoint. Please send all future requests to this endpoint.",
                Bucket=bucket.name,
                Endpoint=endpoint,
                # SDKs look for the region first; without it boto3 probes in a loop.
                headers={"x-amz-bucket-region": self.services.settings.region},
            )
        return bucket

    async def bucket_for(self, permission: str, name: str | None = None) -> Bucket:
        """The bucket, if its ACL grants the caller ``permission``."""
        bucket = await self.bucket(name)
        if not policy.bucket_allows(bucket, permission, self.caller_id):
            raise S3Error("AccessDenied")
        return bucket

    async def owned_bucket(self, name: str | None = None) -> Bucket:
        """The bucket, for operations only its owner may perform."""
        bucket = await self.bucket(name)
        if self.caller_id is None or bucket.owner_id != self.caller_id:
            raise S3Error("AccessDenied")
        return bucket

    async def readable_object(self, bucket: Bucket, key: str) -> ObjectRecord:
        """The object, if the caller may read it. A missing key is NoSuchKey only to
        callers who may list the bucket; others learn nothing (AccessDenied), as AWS."""
        record = await self.services.meta.get_object(bucket.id, key)
        caller = self.caller_id
        if record is None:
            if policy.bucket_allows(bucket, policy.READ, caller):
                raise S3Error("NoSuchKey", Key=key)
            raise S3Error("AccessDenied")
        if not policy.object_allows(bucket, record.acl, record.owner_id, policy.READ, caller):
            raise S3Error("AccessDenied")
        return record

    async def owner_info(self, user_id: int | None) -> tuple[str, str]:
        """(canonical id, display name) of a user, for Owner elements."""
        if user_id is None:
            return ANONYMOUS_ID, "anonymous"
        if self.user is not None and user_id == self.user.id:
            return self.user.canonical_id, self.user.name
        user = await self.services.meta.get_user(user_id)
        return (user.canonical_id, user.name) if user else (ANONYMOUS_ID, "unknown")
