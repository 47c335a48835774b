"""The lifecycle worker's writes to noncurrent versions and delete markers, for both
metadata stores (steps as in oortgate.meta.versions): move a noncurrent version's bytes
to new blobs (NoncurrentVersionTransition), remove a lone delete marker
(ExpiredObjectDeleteMarker). Each checks, in its transaction, that the row is still what
the pass saw, so a pass racing a client's write leaves the key alone."""

from __future__ import annotations

from oortgate.errors import S3Error
from oortgate.meta.models import BlobBody, InlineBody, ObjectRecord, PartsBody
from oortgate.meta.sql_steps import KEY, Claim, Release, Steps, query
from oortgate.meta.versions import delete_version


def transition_version(record: ObjectRecord) -> Steps[bool]:
    """``record``, a noncurrent version with its new body (the same bytes in new pending
    blobs, or an inline body unchanged) and storage class, replaces its stored row's:
    False (nothing written) if the version is gone or is not the one seen (its ETag).
    The old blobs are released after the new ones are claimed."""
    bucket_id, key = record.bucket_id, record.key
    rows = yield from query(f"SELECT seq, blob_id, parts_count FROM object_versions WHERE {KEY}"
                            " AND version_id = ? AND marker = 0 AND etag = ?",
                            bucket_id, key, record.version_id, record.etag)  # fmt: skip
    if not rows:
        return False
    seq, old_blob, parts_count = rows[0]
    where = f"{KEY} AND seq = ?"
    if isinstance(record.body, InlineBody):  # its bytes are in the metadata: they stay
        yield from query(f"UPDATE object_versions SET storage_class = ? WHERE {where}",
                         record.storage_class, bucket_id, key, seq)  # fmt: skip
        return True
    claimed = yield Claim(record.blob_ids)
    if not claimed or not claimed[0][0]:  # raised: the transaction (and its claims) undone
        raise S3Error("NoSuchKey", Key=key)
    if isinstance(record.body, PartsBody):
        old = yield from query(f"SELECT blob_id FROM object_version_parts WHERE {where}",
                               bucket_id, key, seq)  # fmt: skip
        if not parts_count or len(old) != len(record.body.parts):
            raise ValueError("a multipart version keeps its parts when it moves")
        for idx, part in enumerate(record.body.parts):
            yield from query(f"UPDATE object_version_parts SET blob_id = ?, crc64 = ?"
                             f" WHERE {where} AND idx = ?",
                             part.blob_id, part.crc64, bucket_id, key, seq, idx)  # fmt: skip
        released = tuple(r[0] for r in old)
        new_blob, crc64 = "", None
    else:
        assert isinstance(record.body, BlobBody)
        released = (old_blob,) if old_blob else ()
        new_blob, crc64 = record.body.blob_id, record.body.crc64
    yield from query(f"UPDATE object_versions SET blob_id = ?, crc64 = ?, storage_class = ?"
                     f" WHERE {where}", new_blob, crc64, record.storage_class,
                     bucket_id, key, seq)  # fmt: skip
    if released:
        yield Release(released)
    return True


def expire_lone_marker(bucket_id: int, key: str, version_id: str) -> Steps[bool]:
    """Remove delete marker ``version_id`` if it is still the key's only version (no
    current version, no other noncurrent one); True if it went."""
    if (yield from query(f"SELECT 1 FROM objects WHERE {KEY}", bucket_id, key)):
        return False
    rows = yield from query(f"SELECT version_id, marker FROM object_versions WHERE {KEY}"
                            " ORDER BY seq LIMIT 2", bucket_id, key)  # fmt: skip
    if len(rows) != 1 or rows[0][0] != version_id or not rows[0][1]:
        return False
    return (yield from delete_version(bucket_id, key, version_id)) is not None
