"""Per-process services and the per-request context handed to every handler."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from oortgate.bucket_policy import Decision
from oortgate.config import Settings
from oortgate.endpoints import Addressed
from oortgate.errors import ACCESS_DENIED, NO_SUCH_KEY, S3Error
from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, Bucket, ObjectRecord, User
from oortgate.ops.body import Body
from oortgate.ops.metadata import http_date
from oortgate.ops.operations import Route
from oortgate.ops.params import parse_copy_source
from oortgate.ops.permissions import (
    ACTION,
    PERMISSION,
    SOURCE_READ,
    check_bucket,
    check_object,
    policy_action,
)
from oortgate.ops.policy_gate import RequestFacts, verdict
from oortgate.ops.version_ids import marker_headers, stored, versioned
from oortgate.storage.base import BlobStore
from oortgate.storage.space import SpaceGuard, SpaceGuards, StorageFull
from oortgate.store_urls import DirectoryBlobs

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
        self.space = space_guard(settings)
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


def space_guard(settings: Settings) -> SpaceGuard | SpaceGuards:
    """The data directory's, and a blob_url directory's file systems too."""
    own = SpaceGuard(settings.data_dir, settings.free_space_minimum, settings.space_reserve_bytes)
    dirs = {loc.path for loc in (settings.blob_location, settings.archive_blob_location)
            if isinstance(loc, DirectoryBlobs)}  # fmt: skip
    if not dirs:
        return own
    minimum = settings.free_space_minimum
    return SpaceGuards(own, [SpaceGuard(d, minimum, 0) for d in sorted(dirs)])


async def credentials(services: Services, access_key: str) -> tuple[AccessKey, User]:
    """The enabled key and its user (also for credentials carried in a POST form)."""
    found = await services.meta.get_credentials(access_key)
    if found is None or not found[0].enabled:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return found


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
    client: str = ""  # the client's address (aws:SourceIp)
    https: bool = True  # the client's connection was HTTPS (aws:SecureTransport)
    # What authorize() looked up and checked (see the granted_* properties).
    _bucket: Bucket | None = field(default=None, init=False)
    _object: ObjectRecord | None = field(default=None, init=False)
    _source: ObjectRecord | None = field(default=None, init=False)
    source_bucket: Bucket | None = field(default=None, init=False)  # the copy source's
    # The owner of the route's bucket, once looked up (the dashboard counts it for them).
    route_owner: int | None = field(default=None, init=False)

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
            raise S3Error(ACCESS_DENIED)
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
        if name == self.route.bucket:
            self.route_owner = bucket.owner_id
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

    @property
    def facts(self) -> RequestFacts:
        """What a bucket policy's conditions may ask about this request."""
        return RequestFacts(self.route.op, self.user, self.headers, self.query, self.client,
                            self.https)  # fmt: skip

    async def authorize(self) -> None:
        """Check what PERMISSION[op] asks of the caller, once, before the handler runs,
        after what the bucket's policy says of ACTION[op]; keep the bucket and objects it
        looked up for the handler. (GetObject may ask again: a key changed meanwhile.)"""
        op = self.route.op
        need = PERMISSION[op]
        if need.signed_in:
            self.signed_in()
        if need.form or (need.bucket is None and need.object is None):
            return
        caller, facts = self.caller_id, self.facts
        bucket = await self.bucket()
        version = self.route.version_id
        record = await self._lookup(bucket, self.key, version) if need.object else None
        decided = verdict(bucket, policy_action(op, version), self.route.key, facts, record)
        if need.bucket is not None and not (need.per_key and bucket.policy is not None):
            check_bucket(need.bucket, bucket, caller, decided)
        self._bucket = bucket
        if need.object is not None:
            listing = Decision.NONE
            if record is None and decided is not Decision.DENY:
                listing = verdict(bucket, "s3:ListBucket", None, facts)
            self._object = await self._found(
                bucket, self.key, version,
                lambda: check_object(need, bucket, self.key, record, caller, decided, listing),
            )  # fmt: skip
            if self._object.delete_marker:  # asked for by its version id
                raise S3Error(
                    "MethodNotAllowed", ResourceType="DeleteMarker", Method=self.method,
                    headers={**marker_headers(self._object), "allow": "DELETE",
                             "last-modified": http_date(self._object.last_modified)},
                )  # fmt: skip
        if need.source:
            name, key, source_version = parse_copy_source(self.headers["x-amz-copy-source"])
            source_bucket = await self.bucket(
                name, any_tier=True, owner_header=SOURCE_EXPECTED_OWNER
            )
            source = await self._lookup(source_bucket, key, source_version)
            read_action = "s3:GetObject" if source_version is None else "s3:GetObjectVersion"
            read = verdict(source_bucket, read_action, key, facts, source)
            source_listing = Decision.NONE
            if source is None and read is not Decision.DENY:
                source_listing = verdict(source_bucket, "s3:ListBucket", None, facts)
            self._source = await self._found(
                source_bucket, key, source_version,
                lambda: check_object(SOURCE_READ, source_bucket, key, source, caller, read,
                                     source_listing),
            )  # fmt: skip
            if self._source.delete_marker:
                raise S3Error("InvalidRequest", "The source of a copy request may not "
                              "specifically refer to a delete marker by version id.")  # fmt: skip
            self.source_bucket = source_bucket

    async def _lookup(self, bucket: Bucket, key: str, version: str | None) -> ObjectRecord | None:
        """The current object, or the version asked for (a delete marker too)."""
        if version is None:
            return await self.services.meta.get_object(bucket.id, key)
        return await self.services.meta.get_object_version(bucket.id, key, stored(version))

    async def _found(
        self, bucket: Bucket, key: str, version: str | None, check: Callable[[], ObjectRecord]
    ) -> ObjectRecord:
        """check()'s record; its NoSuchKey (told only to who may list the bucket) is
        NoSuchVersion for a version asked for, and carries the delete marker's headers
        when the key's latest version is one."""
        try:
            return check()
        except S3Error as err:
            if err.code != NO_SUCH_KEY:
                raise
            if version is not None:
                raise S3Error("NoSuchVersion", Key=key, VersionId=version) from None
            marker = None
            if versioned(bucket):
                marker = await self.services.meta.current_delete_marker(bucket.id, key)
            if marker is None:
                raise
            raise S3Error(NO_SUCH_KEY, Key=key, headers=marker_headers(marker)) from None

    def may_delete(self, key: str, version: str | None = None) -> bool:
        """DeleteObjects: may the caller delete ``key`` (or that version of it: the
        policy's verdict on s3:DeleteObject(Version) for that key, else WRITE on the
        bucket)?"""
        bucket, need = self.granted_bucket, PERMISSION[self.route.op]
        assert need.per_key and need.bucket is not None
        try:
            action = policy_action(self.route.op, version)
            decided = verdict(bucket, action, key, self.facts)
            check_bucket(need.bucket, bucket, self.caller_id, decided)
        except S3Error:
            return False
        return True

    def authorize_form(self, bucket: Bucket, signer: User | None, key: str | None) -> None:
        """PostObject: PERMISSION's bucket check (and the policy's), for the signer of
        the form."""
        need = PERMISSION[self.route.op]
        assert need.form and need.bucket is not None
        facts = self.facts
        facts.user = signer
        decided = verdict(bucket, ACTION[self.route.op], key, facts)
        check_bucket(need.bucket, bucket, None if signer is None else signer.id, decided)

    @property
    def granted_bucket(self) -> Bucket:
        """The route's bucket, as authorize() found it."""
        assert self._bucket is not None, "PERMISSION names a bucket check for this op"
        return self._bucket

    @property
    def granted_object(self) -> ObjectRecord:
        """The route's object, as authorize() found it."""
        assert self._object is not None, "PERMISSION names an object check for this op"
        return self._object

    @property
    def granted_source(self) -> ObjectRecord:
        """The x-amz-copy-source object, as authorize() found it."""
        assert self._source is not None, "PERMISSION names a source check for this op"
        return self._source

    async def owner_info(self, user_id: int | None) -> tuple[str, str]:
        """(canonical id, display name) of a user, for Owner elements."""
        if user_id is None:
            return ANONYMOUS_ID, "anonymous"
        if self.user is not None and user_id == self.user.id:
            return self.user.canonical_id, self.user.name
        user = await self.services.meta.get_user(user_id)
        return (user.canonical_id, user.name) if user else (ANONYMOUS_ID, "unknown")
