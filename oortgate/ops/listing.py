"""ListObjects (v1), ListObjectsV2 and ListObjectVersions (every object is version null)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from urllib.parse import quote_plus

from oortgate import policy, xml
from oortgate.errors import S3Error
from oortgate.meta.models import ObjectPage, ObjectRecord
from oortgate.ops import tokens
from oortgate.ops.context import Context
from oortgate.ops.metadata import checksum_type
from oortgate.ops.response import Response, xml_response

MAX_KEYS = 1000


def encoder(ctx: Context) -> Callable[[str], str]:
    encoding = ctx.query.get("encoding-type")
    if encoding is None:
        return lambda value: value
    if encoding != "url":
        raise S3Error(
            "InvalidArgument",
            "Invalid Encoding Method specified in Request",
            ArgumentName="encoding-type",
            ArgumentValue=encoding,
        )
    # As AWS encodes: a space as "+" (so "+" itself as %2B), "/" kept, UTF-8 otherwise
    # percent-encoded. Which elements are encoded follows AWS's documentation too: for
    # v1 that includes Prefix, which botocore alone forgets to decode.
    return lambda value: quote_plus(value, safe="/")


async def _page(ctx: Context, start_after: str, max_keys: int) -> ObjectPage:
    bucket = await ctx.bucket_for(policy.READ)
    return await ctx.meta.list_objects(
        bucket.id,
        ctx.query.get("prefix", ""),
        ctx.query.get("delimiter", ""),
        start_after,
        max_keys,
    )


def _common(root: xml.Node, ctx: Context, enc: Callable[[str], str]) -> None:
    root.add("Name", ctx.route.bucket)
    root.add("Prefix", enc(ctx.query.get("prefix", "")))


def _tail(root: xml.Node, ctx: Context, page: ObjectPage, enc: Callable[[str], str]) -> None:
    for prefix in page.common_prefixes:
        root.add("CommonPrefixes").add("Prefix", enc(prefix))
    if "encoding-type" in ctx.query:
        root.add("EncodingType", "url")


Owners = dict[int | None, tuple[str, str]]


async def owners_of(ctx: Context, owner_ids: Iterable[int | None]) -> Owners:
    """(canonical id, display name) of each distinct owner on a page (with ACLs disabled,
    the bucket owner owns every object, whoever wrote it)."""
    bucket = await ctx.bucket()
    return {
        owner_id: await ctx.owner_info(policy.object_owner(bucket, owner_id))
        for owner_id in set(owner_ids)
    }


def owner_markup(tag: str, owner: tuple[str, str]) -> str:
    return f"<{tag}>{xml.leaf('ID', owner[0])}{xml.leaf('DisplayName', owner[1])}</{tag}>"


def add_owner(node: xml.Node, tag: str, owner: tuple[str, str]) -> None:
    node.extend([owner_markup(tag, owner)])


def _contents(record: ObjectRecord, enc: Callable[[str], str], owners: Owners | None) -> str:
    """One <Contents> entry as markup: a page holds up to a thousand of them."""
    # Only the key and the owner need escaping: the rest is hex, digits, a timestamp
    # or a name of ours.
    out = [
        f"<Contents><Key>{xml.escape(enc(record.key))}</Key>"
        f"<LastModified>{xml.timestamp(record.last_modified)}</LastModified>"
        f"<ETag>&quot;{record.etag}&quot;</ETag>"
    ]
    if record.checksums:
        out.extend(f"<ChecksumAlgorithm>{name}</ChecksumAlgorithm>" for name in record.checksums)
        out.append(f"<ChecksumType>{checksum_type(record)}</ChecksumType>")
    out.append(f"<Size>{record.size}</Size>")
    if owners is not None:
        out.append(owner_markup("Owner", owners[record.owner_id]))
    out.append(f"<StorageClass>{record.storage_class}</StorageClass></Contents>")
    return "".join(out)


def _delimiter(root: xml.Node, ctx: Context, enc: Callable[[str], str]) -> None:
    if ctx.query.get("delimiter"):
        root.add("Delimiter", enc(ctx.query["delimiter"]))


async def list_objects(ctx: Context) -> Response:
    enc = encoder(ctx)
    max_keys = tokens.int_param(ctx.query.get("max-keys"), "max-keys", MAX_KEYS, MAX_KEYS)
    marker = ctx.query.get("marker", "")
    page = await _page(ctx, marker, max_keys)
    root = xml.Node("ListBucketResult")
    _common(root, ctx, enc)
    root.add("Marker", enc(marker))
    root.add("MaxKeys", max_keys)
    _delimiter(root, ctx, enc)
    root.add("IsTruncated", page.is_truncated)
    if page.is_truncated and page.next_marker is not None:
        root.add("NextMarker", enc(page.next_marker))
    owners = await owners_of(ctx, (o.owner_id for o in page.objects))
    root.extend(_contents(record, enc, owners) for record in page.objects)
    _tail(root, ctx, page, enc)
    return xml_response(root)


async def list_objects_v2(ctx: Context) -> Response:
    enc = encoder(ctx)
    max_keys = tokens.int_param(ctx.query.get("max-keys"), "max-keys", MAX_KEYS, MAX_KEYS)
    token = ctx.query.get("continuation-token")
    start_after = ctx.query.get("start-after", "")
    begin = tokens.decode(token) if token is not None else start_after
    page = await _page(ctx, begin, max_keys)
    fetch_owner = ctx.query.get("fetch-owner", "false").lower() == "true"
    root = xml.Node("ListBucketResult")
    _common(root, ctx, enc)
    root.add("MaxKeys", max_keys)
    root.add("KeyCount", len(page.objects) + len(page.common_prefixes))
    _delimiter(root, ctx, enc)
    root.add("IsTruncated", page.is_truncated)
    if token is not None:
        root.add("ContinuationToken", token)
    if page.is_truncated and page.next_marker is not None:
        root.add("NextContinuationToken", tokens.encode(page.next_marker))
    if "start-after" in ctx.query:
        root.add("StartAfter", enc(start_after))
    owners = await owners_of(ctx, (o.owner_id for o in page.objects)) if fetch_owner else None
    root.extend(_contents(record, enc, owners) for record in page.objects)
    _tail(root, ctx, page, enc)
    return xml_response(root)


async def list_object_versions(ctx: Context) -> Response:
    enc = encoder(ctx)
    max_keys = tokens.int_param(ctx.query.get("max-keys"), "max-keys", MAX_KEYS, MAX_KEYS)
    key_marker = ctx.query.get("key-marker", "")
    page = await _page(ctx, key_marker, max_keys)
    root = xml.Node("ListVersionsResult")
    _common(root, ctx, enc)
    root.add("KeyMarker", enc(key_marker))
    root.add("VersionIdMarker", ctx.query.get("version-id-marker", ""))
    root.add("MaxKeys", max_keys)
    _delimiter(root, ctx, enc)
    root.add("IsTruncated", page.is_truncated)
    if page.is_truncated and page.next_marker is not None:
        root.add("NextKeyMarker", enc(page.next_marker))
        root.add("NextVersionIdMarker", "null")
    owners = await owners_of(ctx, (o.owner_id for o in page.objects))
    for record in page.objects:
        node = root.add("Version")
        node.add("Key", enc(record.key))
        node.add("VersionId", "null")
        node.add("IsLatest", True)
        node.add("LastModified", xml.timestamp(record.last_modified))
        node.add("ETag", f'"{record.etag}"')
        node.add("Size", record.size)
        node.add("StorageClass", record.storage_class)
        add_owner(node, "Owner", owners[record.owner_id])
    _tail(root, ctx, page, enc)
    return xml_response(root)
