"""The versions of one object, with each version's retention and legal hold, as the
object's versions page shows them; and the deletion of one version.

All S3 requests of the signed-in key (console/s3_inprocess.py): a locked version's
deletion is refused by S3's object lock, with S3's message, as it would be for boto3.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from oortgate.console.s3_inprocess import S3Answer, S3For
from oortgate.xml.core import child_text, parse
from oortgate.xml.object_lock import parse_date, parse_legal_hold, parse_retention

PAGE = 100  # versions shown; S3 lists a key's versions first when it is the prefix


@dataclass(frozen=True, slots=True)
class Version:
    version_id: str
    latest: bool
    delete_marker: bool
    modified: float
    size: int
    etag: str
    retention_mode: str | None = None  # GOVERNANCE or COMPLIANCE, while it holds
    retain_until: float | None = None
    legal_hold: bool = False


@dataclass(frozen=True, slots=True)
class Versions:
    versions: list[Version]
    more: bool  # the key has more versions than PAGE (one more is asked for, to know)
    locked: bool  # the bucket has object lock: retention and legal hold are shown


def _versions_of(key: str, body: bytes) -> tuple[list[Version], bool]:
    root = parse(body)
    found = []
    for entry in root:
        if entry.tag not in ("Version", "DeleteMarker") or child_text(entry, "Key") != key:
            continue
        marker = entry.tag == "DeleteMarker"
        found.append(Version(
            version_id=child_text(entry, "VersionId") or "null",
            latest=child_text(entry, "IsLatest") == "true",
            delete_marker=marker,
            modified=parse_date(child_text(entry, "LastModified") or ""),
            size=0 if marker else int(child_text(entry, "Size") or 0),
            etag=(child_text(entry, "ETag") or "").strip('"'),
        ))  # fmt: skip
    return found[:PAGE], len(found) > PAGE


async def _with_lock(s3: S3For, bucket: str, key: str, version: Version) -> Version:
    if version.delete_marker:
        return version
    params = {"versionId": version.version_id}
    retention, hold = await asyncio.gather(
        s3("GetObjectRetention", bucket, key, params), s3("GetObjectLegalHold", bucket, key, params)
    )
    mode, until = parse_retention(retention.body) if retention.ok else (None, None)
    on = parse_legal_hold(hold.body) if hold.ok else False
    return Version(version.version_id, version.latest, version.delete_marker, version.modified,
                   version.size, version.etag, mode, until, on)  # fmt: skip


async def list_versions(s3: S3For, bucket: str, key: str) -> Versions | S3Answer:
    listing, lock = await asyncio.gather(
        s3("ListObjectVersions", bucket, params={"prefix": key, "max-keys": str(PAGE + 1)}),
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
