"""The versions and object-lock part of the metadata store interface (MetaStore in
oortgate.meta.base inherits it; the same rules hold: every method a coroutine and one
transaction, durable when it returns, S3Error for expected outcomes)."""

from __future__ import annotations

from typing import Protocol

from oortgate.meta.models import ObjectLock, ObjectRecord, VersionPage
from oortgate.meta.preconditions import Precondition


class VersionedMeta(Protocol):
    # -- versions (see oortgate.meta.versions; a version id '' is the null version) ---
    async def set_bucket_versioning(self, bucket_id: int, status: str) -> None:
        """"Enabled" or "Suspended" (a bucket never goes back to unversioned)."""
        ...

    async def add_delete_marker(
        self, bucket_id: int, key: str, version_id: str, owner_id: int | None,
        condition: Precondition | None = None,
    ) -> float:  # fmt: skip
        """DeleteObject without a version id on a versioned bucket: a delete marker
        ``version_id`` becomes the key's latest version (the current one kept as
        noncurrent, as put_object keeps it); returns its last_modified as stored. The
        condition applies to the current version, as for delete_object."""
        ...

    async def delete_version(
        self, bucket_id: int, key: str, version_id: str, bypass_governance: bool = False
    ) -> bool | None:
        """Remove that version or delete marker for good (its blobs released in the same
        transaction); the next newest version becomes current if the latest went and is
        not a delete marker. None: no such version; else whether it was a marker. Raises
        S3Error AccessDenied (nothing removed) while the version is under a legal hold or
        an unexpired retention (GOVERNANCE: unless ``bypass_governance``), checked in the
        same transaction (see oortgate.meta.object_lock); its lock goes with it."""
        ...

    # -- object lock (see oortgate.meta.object_lock) ---------------------------------
    async def set_bucket_object_lock(self, bucket_id: int, config: str) -> None:
        """Its object lock configuration (JSON, see oortgate.ops.object_lock); versioning
        becomes Enabled in the same write. A bucket's lock is never turned off."""
        ...

    async def get_object_lock(
        self, bucket_id: int, key: str, version_id: str
    ) -> ObjectLock | None:
        """That version's lock (None: it never had one)."""
        ...

    async def set_object_retention(
        self, bucket_id: int, key: str, version_id: str, mode: str | None,
        until: float | None, bypass_governance: bool = False,
    ) -> bool:  # fmt: skip
        """Set (mode None: remove) that version's retention; False if the key has no such
        version (a delete marker has none). Raises S3Error AccessDenied (nothing changed)
        if it would shorten, weaken or remove an unexpired retention: a COMPLIANCE one
        always, a GOVERNANCE one unless ``bypass_governance``. A new version's lock is
        written with it: ``ObjectRecord.lock`` on a versioned put_object/complete_upload."""
        ...

    async def set_object_legal_hold(
        self, bucket_id: int, key: str, version_id: str, on: bool
    ) -> bool:
        """False if the key has no such version."""
        ...

    async def set_version_restore(
        self, bucket_id: int, key: str, version_id: str, ready: float, expiry: float
    ) -> bool:
        """Record a restore of that version, current or noncurrent (readable from ready
        until expiry); False if the key has no such version or it is a delete marker."""
        ...

    async def transition_version(self, record: ObjectRecord) -> bool:
        """A lifecycle transition of a noncurrent version: ``record`` (as read, with its
        new body: new pending blobs, claimed here, or its inline body) and its new
        storage class replace the stored row's in one transaction, the old blobs
        released. False: the version is gone or no longer has ``record.etag``. Raises
        S3Error NoSuchKey (nothing written) if a new blob cannot be claimed."""
        ...

    async def expire_delete_marker(self, bucket_id: int, key: str, version_id: str) -> bool:
        """ExpiredObjectDeleteMarker: remove that delete marker if it is still the key's
        only version (checked in the same transaction); True if it went."""
        ...

    async def get_object_version(
        self, bucket_id: int, key: str, version_id: str
    ) -> ObjectRecord | None:
        """That version with its body, or that delete marker (``delete_marker`` set,
        no body); None if the key has no such version."""
        ...

    async def current_delete_marker(self, bucket_id: int, key: str) -> ObjectRecord | None:
        """The key's latest version if it is a delete marker (what a GET without a
        version id answers 404 with)."""
        ...

    async def list_object_versions(
        self, bucket_id: int, prefix: str = "", delimiter: str = "", key_marker: str = "",
        version_id_marker: str | None = None, max_keys: int = 1000,
    ) -> VersionPage:  # fmt: skip
        """ListObjectVersions: keys > key_marker (with a version id marker: first the
        key_marker's versions older than it), key order, newest first; common prefixes
        as list_objects. Raises S3Error InvalidArgument for a version id marker the key
        does not have. The cost of a page does not depend on other keys' versions."""
        ...
