"""The listing documents: ListBuckets (ListAllMyBucketsResult), ListObjects v1 and v2
(ListBucketResult), ListObjectVersions (ListVersionsResult), ListParts (ListPartsResult)
and ListMultipartUploads (ListMultipartUploadsResult).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote_plus

from oortgate.auth.checksums import checksum_type
from oortgate.meta.models import (
    Bucket,
    ObjectPage,
    ObjectRecord,
    Part,
    Upload,
    UploadPage,
    VersionPage,
)
from oortgate.xml.core import Node, child_text, document, escape, leaf, parse, timestamp

Owner = tuple[str, str]  # (canonical id, display name)
Owners = dict[int | None, Owner]  # by user id (None: anonymous)
Encode = Callable[[str], str]
# What quote_plus(safe="/") leaves as it is: most keys, spared its per-byte work (a
# page encodes up to a thousand of them).
_UNCHANGED = re.compile(r"[A-Za-z0-9_.~/-]*")


def _as_is(value: str) -> str:
    return value


def _url_encoded(value: str) -> str:
    # As AWS encodes: a space as "+" (so "+" itself as %2B), "/" kept, UTF-8 otherwise
    # percent-encoded. Which elements are encoded follows AWS's documentation too: for
    # v1 that includes Prefix, which botocore alone forgets to decode.
    if _UNCHANGED.fullmatch(value):
        return value
    return quote_plus(value, safe="/")


@dataclass(frozen=True, slots=True)
class Listing:
    """What a listing echoes of its request (max_keys: MaxKeys, MaxUploads)."""

    bucket: str
    prefix: str
    delimiter: str  # "": none
    max_keys: int
    url: bool  # encoding-type=url: keys, prefixes, markers and the delimiter encoded

    @property
    def encode(self) -> Encode:
        return _url_encoded if self.url else _as_is


def owner_markup(tag: str, owner: Owner) -> str:
    return f"<{tag}>{leaf('ID', owner[0])}{leaf('DisplayName', owner[1])}</{tag}>"


def _add_owner(node: Node, tag: str, owner: Owner) -> None:
    node.extend([owner_markup(tag, owner)])


def _head(root: Node, req: Listing) -> Encode:
    root.add("Name", req.bucket)
    root.add("Prefix", req.encode(req.prefix))
    return req.encode


def _delimiter(root: Node, req: Listing) -> None:
    if req.delimiter:
        root.add("Delimiter", req.encode(req.delimiter))


def _tail(root: Node, req: Listing, common_prefixes: Iterable[str]) -> bytes:
    for prefix in common_prefixes:
        root.add("CommonPrefixes").add("Prefix", req.encode(prefix))
    if req.url:
        root.add("EncodingType", "url")
    return document(root)


def _contents(record: ObjectRecord, enc: Encode, owners: Owners | None) -> str:
    """One <Contents> entry as markup: a page holds up to a thousand of them."""
    # Only the key and the owner need escaping: the rest is hex, digits, a timestamp
    # or a name of ours.
    out = [
        f"<Contents><Key>{escape(enc(record.key))}</Key>"
        f"<LastModified>{timestamp(record.last_modified)}</LastModified>"
        f"<ETag>&quot;{record.etag}&quot;</ETag>"
    ]
    out.append(_checksums(record))
    out.append(f"<Size>{record.size}</Size>")
    if owners is not None:
        out.append(owner_markup("Owner", owners[record.owner_id]))
    out.append(f"<StorageClass>{record.storage_class}</StorageClass></Contents>")
    return "".join(out)


def _checksums(record: ObjectRecord) -> str:
    if not record.checksums:
        return ""
    names = "".join(f"<ChecksumAlgorithm>{name}</ChecksumAlgorithm>" for name in record.checksums)
    return f"{names}<ChecksumType>{checksum_type(record.checksums)}</ChecksumType>"


def list_objects(req: Listing, marker: str, page: ObjectPage, owners: Owners) -> bytes:
    """ListObjects (v1)."""
    root = Node("ListBucketResult")
    enc = _head(root, req)
    root.add("Marker", enc(marker))
    root.add("MaxKeys", req.max_keys)
    _delimiter(root, req)
    root.add("IsTruncated", page.is_truncated)
    if page.is_truncated and page.next_marker is not None:
        root.add("NextMarker", enc(page.next_marker))
    root.extend(_contents(record, enc, owners) for record in page.objects)
    return _tail(root, req, page.common_prefixes)


def list_objects_v2(
    req: Listing,
    page: ObjectPage,
    owners: Owners | None,
    *,
    token: str | None,
    next_token: str | None,
    start_after: str | None,
) -> bytes:
    """ListObjectsV2: owners None unless fetch-owner; next_token only when truncated."""
    root = Node("ListBucketResult")
    enc = _head(root, req)
    root.add("MaxKeys", req.max_keys)
    root.add("KeyCount", len(page.objects) + len(page.common_prefixes))
    _delimiter(root, req)
    root.add("IsTruncated", page.is_truncated)
    if token is not None:
        root.add("ContinuationToken", token)
    if next_token is not None:
        root.add("NextContinuationToken", next_token)
    if start_after is not None:
        root.add("StartAfter", enc(start_after))
    root.extend(_contents(record, enc, owners) for record in page.objects)
    return _tail(root, req, page.common_prefixes)


def list_object_versions(
    req: Listing, page: VersionPage, owners: Owners, *, key_marker: str, version_id_marker: str
) -> bytes:
    """Version and DeleteMarker entries in the page's order (key, then newest first)."""
    root = Node("ListVersionsResult")
    enc = _head(root, req)
    root.add("KeyMarker", enc(key_marker))
    root.add("VersionIdMarker", version_id_marker)
    root.add("MaxKeys", req.max_keys)
    _delimiter(root, req)
    root.add("IsTruncated", page.is_truncated)
    if page.is_truncated and page.next_key_marker is not None:
        root.add("NextKeyMarker", enc(page.next_key_marker))
        if page.next_version_id_marker is not None:
            root.add("NextVersionIdMarker", page.next_version_id_marker or "null")
    root.extend(_version(record, latest, enc, owners) for record, latest in page.versions)
    return _tail(root, req, page.common_prefixes)


def _version(record: ObjectRecord, latest: bool, enc: Encode, owners: Owners) -> str:
    """One <Version> or <DeleteMarker> entry as markup, as _contents (a node per field
    made a page of versions ten times the cost of a page of objects)."""
    tag = "DeleteMarker" if record.delete_marker else "Version"
    out = [
        f"<{tag}><Key>{escape(enc(record.key))}</Key>"
        f"<VersionId>{escape(record.version_id or 'null')}</VersionId>"
        f"<IsLatest>{'true' if latest else 'false'}</IsLatest>"
        f"<LastModified>{timestamp(record.last_modified)}</LastModified>"
    ]
    if not record.delete_marker:
        out.append(f"<ETag>&quot;{record.etag}&quot;</ETag>{_checksums(record)}")
        out.append(f"<Size>{record.size}</Size><StorageClass>{record.storage_class}</StorageClass>")
    out.append(f"{owner_markup('Owner', owners[record.owner_id])}</{tag}>")
    return "".join(out)


@dataclass(frozen=True, slots=True)
class ListedVersion:
    """One <Version> or <DeleteMarker> of a ListVersionsResult, as a reader of it (the
    console) needs it; last_modified as the ISO 8601 text S3 sent."""

    key: str
    version_id: str
    latest: bool
    delete_marker: bool
    last_modified: str
    size: int
    etag: str


def parse_version_entries(body: bytes) -> list[ListedVersion]:
    """The entries of a ListVersionsResult document, in its order."""
    found = []
    for entry in parse(body):
        if entry.tag not in ("Version", "DeleteMarker"):
            continue
        marker = entry.tag == "DeleteMarker"
        found.append(ListedVersion(
            key=child_text(entry, "Key") or "",
            version_id=child_text(entry, "VersionId") or "null",
            latest=child_text(entry, "IsLatest") == "true",
            delete_marker=marker,
            last_modified=child_text(entry, "LastModified") or "",
            size=0 if marker else int(child_text(entry, "Size") or 0),
            etag=(child_text(entry, "ETag") or "").strip('"'),
        ))  # fmt: skip
    return found


def list_buckets(
    buckets: Sequence[Bucket], region: str, owner: Owner, *, token: str | None, prefix: str
) -> bytes:
    """ListBuckets: token is the next page's ContinuationToken (None: the last page)."""
    root = Node("ListAllMyBucketsResult")
    listed = root.add("Buckets")
    for bucket in buckets:
        node = listed.add("Bucket")
        node.add("Name", bucket.name)
        node.add("CreationDate", timestamp(bucket.created))
        node.add("BucketRegion", region)
    node = root.add("Owner")
    node.add("ID", owner[0])
    node.add("DisplayName", owner[1])
    if token is not None:
        root.add("ContinuationToken", token)
    if prefix:
        root.add("Prefix", prefix)
    return document(root)


def _upload_checksum(node: Node, upload: Upload) -> None:
    if upload.checksum_algorithm:
        node.add("ChecksumAlgorithm", upload.checksum_algorithm)
        node.add("ChecksumType", upload.checksum_type)


def list_parts(
    bucket: str,
    upload: Upload,
    parts: Sequence[Part],
    owner: Owner,
    *,
    marker: int,
    max_parts: int,
    truncated: bool,
) -> bytes:
    root = Node("ListPartsResult")
    root.add("Bucket", bucket)
    root.add("Key", upload.key)
    root.add("UploadId", upload.upload_id)
    root.add("PartNumberMarker", marker)
    if parts:
        root.add("NextPartNumberMarker", parts[-1].part_number)
    root.add("MaxParts", max_parts)
    root.add("IsTruncated", truncated)
    for part in parts:
        node = root.add("Part")
        node.add("PartNumber", part.part_number)
        node.add("LastModified", timestamp(part.last_modified))
        node.add("ETag", f'"{part.etag}"')
        node.add("Size", part.size)
        if part.checksum and upload.checksum_algorithm:
            node.add("Checksum" + upload.checksum_algorithm, part.checksum)
    _add_owner(root, "Initiator", owner)
    _add_owner(root, "Owner", owner)
    root.add("StorageClass", upload.storage_class)
    _upload_checksum(root, upload)
    return document(root)


def list_multipart_uploads(
    req: Listing, page: UploadPage, owners: Owners, *, key_marker: str, upload_id_marker: str
) -> bytes:
    """ListMultipartUploads (req.max_keys is MaxUploads)."""
    enc = req.encode
    root = Node("ListMultipartUploadsResult")
    root.add("Bucket", req.bucket)
    root.add("KeyMarker", enc(key_marker))
    root.add("UploadIdMarker", upload_id_marker)
    if page.is_truncated:
        root.add("NextKeyMarker", enc(page.next_key_marker or ""))
        root.add("NextUploadIdMarker", page.next_upload_id_marker or "")
    _delimiter(root, req)
    root.add("Prefix", enc(req.prefix))
    root.add("MaxUploads", req.max_keys)
    root.add("IsTruncated", page.is_truncated)
    for upload in page.uploads:
        node = root.add("Upload")
        node.add("Key", enc(upload.key))
        node.add("UploadId", upload.upload_id)
        _add_owner(node, "Initiator", owners[upload.owner_id])
        _add_owner(node, "Owner", owners[upload.owner_id])
        node.add("StorageClass", upload.storage_class)
        node.add("Initiated", timestamp(upload.initiated))
        _upload_checksum(node, upload)
    return _tail(root, req, page.common_prefixes)
