"""oortgate.meta.body_rows: a body to the stored columns and back, exactly, for each kind."""

from __future__ import annotations

import pytest

from oortgate.meta import body_rows
from oortgate.meta.models import BlobBody, Body, InlineBody, PartsBody, Segment

PARTS = (Segment("a" * 32, 5, 1, "c1==", "1" * 16), Segment("b" * 32, 3, 4, None, None))


def _round_trip(body: Body, size: int) -> Body:
    columns = body_rows.stored(body)
    parts = body.parts if isinstance(body, PartsBody) else ()
    return body_rows.loaded(columns.blob_id, size, columns.parts_count, columns.crc64,
                            columns.inline, parts)  # fmt: skip


def test_a_blob_body_is_its_blob_id() -> None:
    body = BlobBody("f" * 32 + "z", 9, "2" * 16)
    assert body_rows.stored(body) == ("f" * 32 + "z", 0, "2" * 16, None)
    assert _round_trip(body, 9) == body


def test_a_parts_body_is_a_count_and_its_part_rows() -> None:
    body = PartsBody(PARTS)
    assert body_rows.stored(body) == ("", 2, None, None)
    assert _round_trip(body, 8) == body


def test_new_inline_bytes_get_a_row_id_a_copy_keeps_its_own() -> None:
    new = body_rows.stored(InlineBody(b"abc", "3" * 16))
    assert body_rows.is_inline_ref(new.blob_id) and (new.parts_count, new.inline) == (0, b"abc")
    assert body_rows.stored(InlineBody(b"abc")).blob_id != new.blob_id
    copy = InlineBody(b"abc", "3" * 16, new.blob_id)
    assert body_rows.stored(copy).blob_id == new.blob_id
    assert _round_trip(copy, 3) == copy


def test_inline_row_ids_never_look_like_blob_ids() -> None:
    assert not body_rows.is_inline_ref("0123456789abcdef" * 2)
    assert not body_rows.is_inline_ref("a-" + "0" * 32)  # the archive tier's ids


def test_an_inline_id_without_its_bytes_reads_as_a_missing_blob() -> None:
    """Damage (the inline row is gone): the object's bytes fail to read, fsck says why."""
    ref = body_rows.new_inline_ref()
    assert body_rows.loaded(ref, 3, 0, None, None) == BlobBody(ref, 3)


def test_a_record_without_a_body_is_not_written() -> None:
    with pytest.raises(ValueError):
        body_rows.stored(None)
