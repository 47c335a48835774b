"""What the command-line tools need of every MetaStore (oortgate.meta.base): the counts of
``admin stats``, ``key reseal``, and the orphan sweep's one-runner guard."""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Awaitable, Callable

import pytest

from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, InlineBody, ObjectRecord, Part, Upload
from oortgate.secretbox import SecretBox, SecretBoxError


async def test_counts_say_what_the_store_holds(meta: MetaStore) -> None:
    empty = await meta.counts(time.time())
    assert all(value == 0 for value in dataclasses.asdict(empty).values())
    user = await meta.create_user("counted")
    await meta.create_key(user.id, "AKCOUNT", "secret")
    bucket = (await meta.create_bucket("cnt", user.id, "us-east-1", 10)).id
    inline = ObjectRecord(bucket, "small", InlineBody(b"abc"), 3, "e", 1.0)
    await meta.put_object(inline)
    first, second = secrets.token_hex(16), secrets.token_hex(16)
    for key, blob_id, size in (("big", first, 100), ("other", second, 50)):
        await meta.add_pending_blob(blob_id)
        await meta.put_object(ObjectRecord(bucket, key, BlobBody(blob_id, size), size, "e", 1.0))
    await meta.delete_object(bucket, "other")  # its blob: garbage
    await meta.add_pending_blob(secrets.token_hex(16))  # a write under way
    upload = Upload("up-" + secrets.token_hex(8), bucket, "parts", 1.0)
    await meta.create_upload(upload)
    part_blob = secrets.token_hex(16)
    await meta.add_pending_blob(part_blob)
    await meta.put_part(upload.upload_id, Part(1, part_blob, 5, "e", 1.0))
    counts = await meta.counts(time.time() + 60)
    assert (counts.objects, counts.bytes) == (2, 103)
    assert (counts.inline_objects, counts.inline_bytes, counts.inline_blobs) == (1, 3, 1)
    assert (counts.object_blobs, counts.upload_part_blobs, counts.counted_blobs) == (1, 1, 2)
    assert (counts.pending, counts.garbage, counts.garbage_due) == (1, 1, 1)
    assert (counts.uploads, counts.buckets, counts.users, counts.keys) == (1, 1, 1, 1)
    assert (await meta.counts(time.time() - 3600)).garbage_due == 0  # queued just now


async def test_reseal_seals_the_secrets_kept_in_the_clear(
    meta: MetaStore, open_sealed: Callable[[SecretBox], Awaitable[MetaStore]]
) -> None:
    user = await meta.create_user("sealer")
    await meta.create_key(user.id, "AKPLAIN1", "secret-one")
    await meta.create_key(user.id, "AKPLAIN2", "secret-two")
    assert await meta.reseal_keys() == 0  # no box: nothing to seal with
    sealed = await open_sealed(SecretBox(secrets.token_bytes(32)))
    try:
        assert await sealed.reseal_keys() == 2
        assert await sealed.reseal_keys() == 0  # sealed already
        key = await sealed.get_key("AKPLAIN1")
        assert key is not None and key.secret_key == "secret-one"  # opens as before
    finally:
        await sealed.close()
    with pytest.raises(SecretBoxError, match="encrypted"):  # sealed: no box, no secret
        await meta.get_key("AKPLAIN2")


async def test_the_orphan_sweep_has_one_runner_at_a_time(
    meta: MetaStore, peer: MetaStore, meta_kind: str
) -> None:
    async with meta.orphan_sweep() as mine:
        assert mine
        async with peer.orphan_sweep() as theirs:
            # SQLite: one server per data directory holds its lock (see the Protocol).
            assert theirs is (meta_kind == "sqlite")
    async with peer.orphan_sweep() as theirs:
        assert theirs  # released at the end of the first
