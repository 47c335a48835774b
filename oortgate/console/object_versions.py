"""The versions of one object, a page at a time, with each version's retention and
legal hold, as the object's versions page shows them; and the deletion of one version.

All S3 requests of the signed-in key (console/s3_inprocess.py): a locked version's
deletion is refused by S3's object lock, with S3's message, as it would be for boto3.
They count against the key's rate limit as the browser's own requests do, so a page is
small: in a bucket with object lock it takes a HeadObject per version (its
x-amz-object-lock-* headers), and 2 + PAGE stays within the default burst of 20.
"""

from __future__ import annotations

import asyncio
import dataclasses
from dataclasses import dataclass

from oortgate.console.s3_inprocess import S3Answer, S3For
from oortgate.ops.object_lock import HOLD, MODE, UNTIL
from oortgate.xml.listing import parse_version_entries
from oortgate.xml.object_lock import parse_date

PAGE = 15  # versions a page shows; S3 lists a key's own versions first when it is the prefix


@dataclass(frozen=True, slots=True)
class Version:
    version_id: str
    latest: bool
    delete_marker: bool
    modified: float
    size: int
    etag: str
    retention_mode: str | None = None  # GOVERNANCE or COMPLIANCE, until retain_until
    retain_until: float | None = None
    legal_hold: bool = False
    lock_unknown: str = ""  # S3 did not show the version's lock: its status (503 SlowDown)


@dataclass(frozen=True, slots=True)
class Versions:
    versions: list[Version]
    more: bool  # the key has older versions than this page's (one more is asked for)
    locked: bool  # the bucket has object lock: retention and legal hold are shown


def _versions_of(key: str, body: bytes) -> tuple[list[Version], bool]:
    found = [
        Version(e.version_id, e.latest, e.delete_marker, parse_date(e.last_modified), e.size,
                e.etag)
        for e in parse_version_entries(body) if e.key == key
    ]  # fmt: skip
    return found[:PAGE], len(found) > PAGE


async def _with_lock(s3: S3For, bucket: str, key: str, version: Version) -> Version:
    if version.delete_marker:
        return version
    head = await s3("HeadObject", bucket, key, {"versionId": version.version_id})
    if not head.ok:  # HEAD has no body: the status is all S3 says
        return dataclasses.replace(version, lock_unknown=f"HTTP {head.status}")
    until = head.headers.get(UNTIL)
    return dataclasses.replace(version, retention_mode=head.headers.get(MODE),
                               retain_until=parse_date(until) if until else None,
                               legal_hold=head.headers.get(HOLD) == "ON")  # fmt: skip


async def list_versions(s3: S3For, bucket: str, key: str, after: str = "") -> Versions | S3Answer:
    """A page of ``key``'s versions, newest first, starting after the version ``after``."""
    params = {"prefix": key, "max-keys": str(PAGE + 1)}
    if after:
        params |= {"key-marker": key, "version-id-marker": after}
    listing, lock = await asyncio.gather(
        s3("ListObjectVersions", bucket, params=params),
        s3("GetObjectLockConfiguration", bucket),
    )
    if not listing.ok:
        return listing
    versions, more = _versions_of(key, listing.body)
    if lock.ok:
        versions = list(await asyncio.gather(*(_with_lock(s3, bucket, key, v) for v in versions)))
    return Versions(versions, more, lock.ok)


async def delete_version(s3: S3For, bucket: str, key: str, version_id: str) -> S3Answer:
    return await s3("DeleteObject", bucket, key, {"versionId": version_id})
