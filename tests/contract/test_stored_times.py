"""A write's time as the store keeps it: put_object, create_upload, put_part and
complete_upload return the time that reads show afterwards (the handlers answer with
it). On PostgreSQL that is the database clock's, whatever the gateway's clock says: shown with a
database clock an hour ahead."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator

import psycopg
import pytest

from oortgate import stores
from oortgate.meta.base import MetaStore
from oortgate.meta.models import BlobBody, ObjectRecord, Part, PartsBody, Segment, Upload
from tests import pg_service

AHEAD = 3600.0  # seconds the skewed database clock is ahead of this host's


async def _stored_times(meta: MetaStore) -> tuple[float, ...]:
    """(put_object's answer, its object's last_modified, create_upload's, put_part's,
    complete's) and checks each answer is what reads show."""
    user = await meta.create_user("owner")
    bucket = await meta.create_bucket("bkt", user.id, "us-east-1", 10)
    blob = secrets.token_hex(16)
    await meta.add_pending_blob(blob)
    put = await meta.put_object(ObjectRecord(bucket.id, "k", BlobBody(blob, 3), 3, "0" * 32, 1.5))
    found = await meta.get_object(bucket.id, "k")
    assert found is not None and found.last_modified == put
    listed = (await meta.list_objects(bucket.id)).objects
    assert [o.last_modified for o in listed] == [put]

    upload = Upload("up-" + secrets.token_hex(8), bucket.id, "mp", 2.5)
    initiated = await meta.create_upload(upload)
    got = await meta.get_upload(upload.upload_id)
    assert got is not None and got.initiated == initiated
    listed_uploads = (await meta.list_uploads(bucket.id)).uploads
    assert [u.initiated for u in listed_uploads] == [initiated]
    part_blob = secrets.token_hex(16)
    await meta.add_pending_blob(part_blob)
    part = Part(1, part_blob, 5, "1" * 32, 2.5)
    part_time = await meta.put_part(upload.upload_id, part)
    assert [p.last_modified for p in await meta.list_parts(upload.upload_id)] == [part_time]
    body = PartsBody((Segment(part_blob, 5, part_number=1),))
    record = ObjectRecord(bucket.id, "mp", body, 5, "2" * 32 + "-1", 3.5)
    completed = await meta.complete_upload(upload.upload_id, record, [part])
    found = await meta.get_object(bucket.id, "mp")
    assert found is not None and found.last_modified == completed
    return put, found.last_modified, initiated, part_time, completed


async def test_writes_return_the_time_reads_show(meta: MetaStore) -> None:
    await _stored_times(meta)


@pytest.fixture
def skewed_url() -> Iterator[str]:
    """A database whose clock (og_now, which every stored time comes from) is ahead."""
    url = pg_service.create_database("clock")
    asyncio.run(_migrate(stores.open_postgres(url, None)))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE OR REPLACE FUNCTION og_now() RETURNS double precision LANGUAGE sql STABLE"
            " AS $$ SELECT extract(epoch FROM statement_timestamp())::double precision"
            f" + {AHEAD} $$"
        )
    yield url
    pg_service.drop_database(url)


async def _migrate(meta: MetaStore) -> None:
    try:
        await meta.ping()
    finally:
        await meta.close()


async def test_on_postgresql_the_times_are_the_database_clocks(skewed_url: str) -> None:
    meta = stores.open_postgres(skewed_url, None)
    try:
        before = time.time()
        times = await _stored_times(meta)
        after = time.time()
        for stored in times:
            assert before + AHEAD - 1 <= stored <= after + AHEAD + 1
    finally:
        await meta.close()


async def test_on_postgresql_the_garbage_grace_is_on_the_database_clock(
    skewed_url: str,
) -> None:
    """Queued an hour ahead of this host's clock, and due at once under no grace all
    the same: the grace is measured from the database's now, not from this host's."""
    meta = stores.open_postgres(skewed_url, None)
    try:
        user = await meta.create_user("owner")
        bucket = await meta.create_bucket("bkt", user.id, "us-east-1", 10)
        blob = secrets.token_hex(16)
        await meta.add_pending_blob(blob)
        await meta.put_object(ObjectRecord(bucket.id, "k", BlobBody(blob, 3), 3, "0" * 32, 1.5))
        assert await meta.delete_object(bucket.id, "k")
        assert await meta.take_garbage(queued_before=time.time() - 60) == []  # in its grace
        assert await meta.take_garbage(queued_before=time.time()) == [blob]
    finally:
        await meta.close()
