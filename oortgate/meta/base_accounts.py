"""The users, keys and buckets part of the metadata store interface (MetaStore in
oortgate.meta.base inherits it; the same rules hold: every method a coroutine and one
transaction, durable when it returns, S3Error for expected outcomes)."""

from __future__ import annotations

from typing import Protocol

from oortgate.meta.models import AccessKey, Bucket, BucketUsage, User

MAX_KEYS_PER_USER = 10


class AccountsMeta(Protocol):
    # -- users and keys -------------------------------------------------------------
    async def create_user(self, name: str) -> User:
        """Raises ValueError if the name is taken."""
        ...

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_name(self, name: str) -> User | None: ...

    async def get_user_by_canonical_id(self, canonical_id: str) -> User | None: ...

    async def list_users(self) -> list[User]: ...

    async def delete_user(self, user_id: int) -> None:
        """Removes the user and its keys; raises ValueError while it owns a bucket, an
        object or an upload (their owner would be left naming nobody)."""
        ...

    async def create_key(self, user_id: int, access_key: str, secret_key: str) -> AccessKey:
        """Raises ValueError for a duplicate access key, an unknown user, or a user who
        already has MAX_KEYS_PER_USER keys."""
        ...

    async def get_key(self, access_key: str) -> AccessKey | None: ...

    async def refresh(self) -> None:
        """A store may remember ``get_credentials`` and ``get_bucket`` answers between
        calls (the server calls this once per request, not once per lookup): a change
        through the store itself shows at once; one through another connection shows
        in lookups after this call on SQLite, within a moment on PostgreSQL (when the
        database's notice arrives; 5 s at most). Other lookups are never older than
        the call."""
        ...

    async def get_credentials(self, access_key: str) -> tuple[AccessKey, User] | None:
        """The key and its user together (what every signed request looks up)."""
        ...

    async def list_keys(self, user_id: int | None = None) -> list[AccessKey]: ...

    async def set_key_enabled(self, access_key: str, enabled: bool) -> bool:
        """False if there is no such key."""
        ...

    async def set_key_rate_limit(self, access_key: str, rate: float | None) -> bool:
        """Requests per second for this key (None: the server default); False if no key."""
        ...

    async def delete_key(self, access_key: str) -> bool:
        """False if there is no such key."""
        ...

    async def reseal_keys(self) -> int:
        """Seal every secret still stored in the clear with the store's SecretBox (after
        OORTGATE_SECRETS_KEY was set for the first time), in one transaction; returns how
        many were rewritten (0 without a box)."""
        ...

    # -- buckets --------------------------------------------------------------------
    async def create_bucket(
        self,
        name: str,
        owner_id: int,
        region: str,
        max_buckets: int,
        acl: str = "private",
        tier: str = "standard",
        ownership: str | None = None,
        object_lock: str | None = None,
    ) -> Bucket:
        """Raises S3Error BucketAlreadyExists (another owner has it),
        BucketAlreadyOwnedByYou (the caller has it) or TooManyBuckets. ``object_lock``
        (its configuration as set_bucket_object_lock takes it) is written in the same
        transaction, with versioning Enabled: a bucket never exists without the lock
        it was created with."""
        ...

    async def set_bucket_acl(self, bucket_id: int, acl: str) -> None: ...

    async def set_bucket_cors(self, bucket_id: int, cors: str | None) -> None: ...

    async def set_bucket_ownership(self, bucket_id: int, ownership: str | None) -> None:
        """Its ObjectOwnership setting (None: no OwnershipControls)."""
        ...

    async def set_bucket_public_access_block(self, bucket_id: int, config: str | None) -> None:
        """Its PublicAccessBlock configuration as JSON (None: none)."""
        ...

    async def set_bucket_policy(self, bucket_id: int, policy: str | None) -> None:
        """Its bucket policy, the JSON text as put (None: none)."""
        ...

    async def set_bucket_lifecycle(self, bucket_id: int, lifecycle: str | None) -> None:
        """Its lifecycle rules (oortgate.lifecycle.rules JSON; None: none)."""
        ...

    async def lifecycle_buckets(self) -> list[Bucket]:
        """Every bucket that has lifecycle rules, whoever owns it (the lifecycle worker)."""
        ...

    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold the lease ``name`` for ``seconds`` more if it is free, expired or already
        ``holder``'s (one gateway at a time does a job such as applying lifecycle rules)."""
        ...

    async def get_bucket(self, name: str) -> Bucket | None: ...

    async def get_bucket_tags(self, bucket_id: int) -> dict[str, str] | None:
        """The bucket's tag set; None if it has none."""
        ...

    async def set_bucket_tags(self, bucket_id: int, tags: dict[str, str]) -> None:
        """Replace the bucket's tag set (empty: remove it)."""
        ...

    async def list_buckets(
        self, owner_id: int, prefix: str = "", start_after: str = "", limit: int = 10000
    ) -> list[Bucket]:
        """The owner's buckets in name order, names > start_after starting with prefix."""
        ...

    async def bucket_usage(self, owner_id: int) -> list[BucketUsage]:
        """The owner's buckets in name order with their object count and bytes
        (an aggregate over the objects: for the console, not the request path)."""
        ...

    async def delete_bucket(self, bucket_id: int) -> None:
        """Raises S3Error BucketNotEmpty when objects remain; open uploads are aborted
        with the bucket."""
        ...
