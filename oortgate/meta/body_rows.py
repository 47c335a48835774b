"""An object's body in the stored form both metadata stores share (SQLite and PostgreSQL
keep the same columns): the objects row's ``blob_id``, ``parts_count`` and ``crc64``,
the ``inline_blobs`` row of an inline body, the ``object_parts`` rows of a multipart one.

The stored form tells the kinds apart by these columns; only this module (and the SQL of
the stores, which names INLINE_MARK) reads them, and only to make typed bodies:

- a multipart object: ``blob_id`` '' and ``parts_count`` > 0, its parts in object_parts;
- an inline object: ``blob_id`` is its inline_blobs row's id, which starts with
  INLINE_MARK (a blob store's ids are hex: they never do);
- a plain object: ``blob_id`` names its blob.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import NamedTuple

from oortgate.meta.models import BlobBody, Body, InlineBody, PartsBody, Segment

INLINE_MARK = "i"


class BodyColumns(NamedTuple):
    """What an objects row stores of a body (an inline body's bytes go to inline_blobs,
    a multipart body's parts to object_parts)."""

    blob_id: str
    parts_count: int
    crc64: str | None
    inline: bytes | None


def stored(body: Body | None) -> BodyColumns:
    """The columns of a body about to be written; new inline bytes get their row's id."""
    match body:
        case InlineBody(data=data, crc64=crc64, ref=ref):
            return BodyColumns(ref or new_inline_ref(), 0, crc64, data)
        case BlobBody(blob_id=blob_id, crc64=crc64):
            return BodyColumns(blob_id, 0, crc64, None)
        case PartsBody(parts=parts):
            return BodyColumns("", len(parts), None, None)
    raise ValueError("an object is written with its body (a listing's record has none)")


def loaded(
    blob_id: str, size: int, parts_count: int, crc64: str | None, inline: bytes | None,
    parts: Sequence[Segment] = (),
) -> Body:  # fmt: skip
    """The body an objects row (with its inline bytes or its parts, as read) stores.
    An inline id whose bytes are missing (damage) stays a blob id: reading it fails as
    a missing blob does, and fsck reports the row."""
    if parts_count:
        return PartsBody(tuple(parts))
    if inline is not None:
        return InlineBody(inline, crc64, blob_id)
    return BlobBody(blob_id, size, crc64)


def new_inline_ref() -> str:
    return INLINE_MARK + secrets.token_hex(16)


def is_inline_ref(blob_id: str) -> bool:
    """Whether a stored blob id names an inline_blobs row (for the stores' reference
    counts and fsck, which work on stored ids)."""
    return blob_id.startswith(INLINE_MARK)
