"""What only the PostgreSQL store has: it connects lazily in the worker's event loop,
opening the worker's session before its first write; it refuses a database it cannot
use (a newer schema, commits that are not durable); its listings are in byte order on a
database whose collation is not."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from oortgate import accounts, stores
from oortgate.config import load
from oortgate.errors import StoreUnavailable
from oortgate.meta import pg_schema
from oortgate.meta.base import MetaStore
from oortgate.meta.models import AccessKey, InlineBody, ObjectRecord
from oortgate.meta.pg_identity import read_identity
from oortgate.storage import shared_root
from tests import pg_service


@pytest.fixture
def url() -> Iterator[str]:
    database = pg_service.create_database("pgstore")
    yield database
    pg_service.drop_database(database)


async def test_a_workers_first_write_is_under_its_session(url: str) -> None:
    handed: list[str] = []

    async def on_session(session_id: str) -> None:
        handed.append(session_id)

    worker = stores.open_postgres(url, None, on_session=on_session)
    sweeper = stores.open_postgres(url, None)
    try:
        blob_id = secrets.token_hex(16)
        await worker.add_pending_blob(blob_id)  # the very first call: connects, registers
        assert len(handed) == 1 and len(handed[0]) == 16
        assert [s.session_id for s in await sweeper.list_sessions()] == handed
        assert await sweeper.recover_pending() == 0  # a registered session's mark stays
        assert await sweeper.known_blobs([blob_id]) == {blob_id}
        assert await worker.heartbeat()
        assert await sweeper.end_sessions(handed) == 1  # declared dead: its mark is garbage
        assert await sweeper.take_garbage() == [blob_id]
        assert not await worker.heartbeat()
    finally:
        await worker.close()
        await sweeper.close()


async def test_a_garbage_row_another_collector_holds_is_skipped_not_waited_for(
    url: str,
) -> None:
    """Two connections, in a fixed order: one holds a garbage row's lock (a collector
    mid-claim on another gateway); a claim meanwhile takes the others without waiting,
    and the held row is there for the next claim once the first lets it go."""
    meta = stores.open_postgres(url, None)
    try:
        blob_ids = sorted(secrets.token_hex(16) for _ in range(3))
        for blob_id in blob_ids:
            await meta.add_pending_blob(blob_id)
            await meta.drop_pending_blob(blob_id)
        with psycopg.connect(url) as other:  # a transaction left open
            other.execute("SELECT 1 FROM garbage WHERE blob_id = %s FOR UPDATE", (blob_ids[0],))
            assert await asyncio.wait_for(meta.take_garbage(), 30) == blob_ids[1:]
            other.rollback()
        assert await meta.take_garbage() == blob_ids[:1]
    finally:
        await meta.close()


async def test_a_lease_waits_for_a_claim_under_way_and_is_refused(url: str) -> None:
    """Two connections, in a fixed order: a collector has locked and deleted a garbage
    row, not yet committed; a download's lease on that blob waits for it (seen in
    pg_stat_activity), then finds the blob claimed and leases nothing."""
    reader = stores.open_postgres(url, None, on_session=_no_op)
    try:
        blob_id = secrets.token_hex(16)
        await reader.add_pending_blob(blob_id)
        await reader.drop_pending_blob(blob_id)  # queued
        with psycopg.connect(url) as collector:
            collector.execute("SELECT 1 FROM garbage WHERE blob_id = %s FOR UPDATE", (blob_id,))
            collector.execute("DELETE FROM garbage WHERE blob_id = %s", (blob_id,))
            lease = asyncio.ensure_future(reader.lease_blobs([blob_id]))
            with psycopg.connect(url, autocommit=True) as watcher:
                for _ in range(600):
                    if watcher.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                        " AND query LIKE '%%og_lease%%' AND datname = current_database()"
                    ).fetchone():
                        break
                    await asyncio.sleep(0.05)
                else:
                    raise AssertionError("the lease did not wait for the claim")
            assert not lease.done()
            collector.commit()
        with pytest.raises(ValueError):
            await asyncio.wait_for(lease, 30)
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM read_leases").fetchone() == (0,)
    finally:
        await reader.close()


async def _no_op(session_id: str) -> None:
    pass


async def test_gateways_starting_together_make_one_root_key(url: str) -> None:
    """Three gateways' start-ups on an empty (migrated) database, released together:
    the migration lock is held by another connection until all three wait for it (seen
    in pg_stat_activity); then exactly one of them makes the root key."""
    first = stores.open_postgres(url, None)
    await first.ping()  # migrated
    starting = [first, *(stores.open_postgres(url, None) for _ in range(2))]

    async def start(meta: MetaStore) -> AccessKey | None:
        async with meta.bootstrap_lock():
            return await accounts.ensure_root(meta, None, None)

    try:
        with psycopg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (pg_schema.MIGRATION_LOCK,))
            tasks = [asyncio.ensure_future(start(meta)) for meta in starting]
            for _ in range(600):
                row = holder.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'advisory'"
                    " AND datname = current_database()"
                ).fetchone()
                if row == (3,):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the start-ups did not wait for the lock")
            holder.execute("SELECT pg_advisory_unlock(%s)", (pg_schema.MIGRATION_LOCK,))
            generated = await asyncio.wait_for(asyncio.gather(*tasks), 60)
        assert len([key for key in generated if key is not None]) == 1
        root = await first.get_user_by_name(accounts.ROOT_USER)
        assert root is not None and len(await first.list_keys(root.id)) == 1
    finally:
        for meta in starting:
            await meta.close()


async def test_listings_are_in_byte_order_on_an_icu_database(url: str) -> None:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT datlocprovider FROM pg_database"
                           " WHERE datname = current_database()").fetchone()  # fmt: skip
        assert row == ("i",)  # the test database's own order would be en-US
    meta = stores.open_postgres(url, None)
    try:
        user = await meta.create_user("o")
        bucket = await meta.create_bucket("b", user.id, "us-east-1", 10)
        keys = ["a", "B", "b", "A", "_", "é", "e", "Z/1", "z/1"]
        for key in keys:
            inline = ObjectRecord(bucket.id, key, InlineBody(b"x"), 1, "0" * 32, 0.0)
            await meta.put_object(inline)
        page = await meta.list_objects(bucket.id, delimiter="/")
        expected = sorted({k.split("/")[0] + ("/" if "/" in k else "") for k in keys},
                          key=str.encode)  # fmt: skip
        listed = sorted([o.key for o in page.objects] + page.common_prefixes, key=str.encode)
        assert listed == expected
        assert [o.key for o in page.objects] == [k for k in expected if not k.endswith("/")]
        names = [b.name for b in await meta.list_buckets(user.id)]
        assert names == ["b"]
    finally:
        await meta.close()


async def test_an_older_schema_gains_the_bucket_policy_column(url: str) -> None:
    """A database a version before the policy column left (a bucket) is migrated."""
    before_policy = 2  # migration 3 adds the column (1: tables, 2: console sign-outs)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE og_schema (version integer NOT NULL)")
        for scripts in pg_schema.MIGRATIONS[:before_policy]:
            for script in scripts:
                conn.execute(script.encode())
        conn.execute("INSERT INTO og_schema VALUES (%s)", (before_policy,))
        conn.execute("INSERT INTO users (name, canonical_id, created) VALUES ('o', 'c', 0)")
        conn.execute("INSERT INTO buckets (name, owner_id, region, created)"
                     " SELECT 'old', id, 'r', 0 FROM users")  # fmt: skip
    meta = stores.open_postgres(url, None)
    try:
        old = await meta.get_bucket("old")
        assert old is not None and old.policy is None
        await meta.set_bucket_policy(old.id, '{"Statement":[]}')
        stored = await meta.get_bucket("old")
        assert stored is not None and stored.policy == '{"Statement":[]}'
        assert stored.lifecycle is None  # and the lifecycle column and leases (4)
        await meta.set_bucket_lifecycle(old.id, "[]")
        assert [b.name for b in await meta.lifecycle_buckets()] == ["old"]
        assert await meta.take_lease("lifecycle", "me", 60)
    finally:
        await meta.close()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT version FROM og_schema").fetchone() == (
            pg_schema.SCHEMA_VERSION,
        )


async def test_a_newer_schema_is_refused(url: str) -> None:
    meta = stores.open_postgres(url, None)
    await meta.ping()  # migrates
    await meta.close()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE og_schema SET version = version + 1")
    meta = stores.open_postgres(url, None)
    try:
        with pytest.raises(StoreUnavailable, match="newer than this code"):
            await meta.ping()
    finally:
        await meta.close()


async def test_commits_that_are_not_durable_are_refused(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off'.encode())
    meta = stores.open_postgres(url, None)
    try:
        with pytest.raises(StoreUnavailable, match="synchronous_commit=off"):
            await meta.ping()
    finally:
        await meta.close()


def test_the_test_databases_are_per_process() -> None:
    first, second = pg_service.create_database("x"), pg_service.create_database("x")
    try:
        assert first != second and str(os.getpid()) in first
    finally:
        pg_service.drop_database(first)
        pg_service.drop_database(second)


async def test_the_database_has_one_identity_that_every_gateway_reads(
    url: str, tmp_path: Path
) -> None:
    """Made by a migration, once: what its gateways register as the owner of a shared
    blob directory (so N gateways on one database are one owner there)."""
    meta = stores.open_postgres(url, None)
    try:
        await meta.ping()  # connects: migrates
    finally:
        await meta.close()
    identity = read_identity(url)
    assert shared_root.check_owner(identity).startswith("pg-")
    assert read_identity(url) == identity
    shared = tmp_path / "shared"
    shared.mkdir()
    for gateway in ("a", "b"):
        data_dir = tmp_path / gateway
        data_dir.mkdir()
        settings = load({"data_dir": str(data_dir), "blob_url": shared.as_uri(),
                         "metadata_url": url}, None, {})  # fmt: skip
        stores.open_blobs(data_dir, settings)
    assert shared_root.owners(shared) == [identity]
    other = pg_service.create_database("pgother")  # another database: another owner
    try:
        meta = stores.open_postgres(other, None)
        await meta.ping()
        await meta.close()
        assert read_identity(other) != identity
    finally:
        pg_service.drop_database(other)
    with pytest.raises(ConnectionError, match="no oortgate schema"):
        fresh = pg_service.create_database("pgfresh")
        try:
            read_identity(fresh)
        finally:
            pg_service.drop_database(fresh)


async def test_a_version_2_database_is_brought_up_to_date(url: str) -> None:
    """What a database made by the previous release lacks (the lookup notices, the key
    lock of conditional writes) is added at connect, its data untouched."""
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE og_schema (version integer NOT NULL)")
        for scripts in pg_schema.MIGRATIONS[:2]:
            for script in scripts:
                conn.execute(script.replace("og_lock_key", "og_missing").encode())
        conn.execute("INSERT INTO og_schema VALUES (2)")
        conn.execute("INSERT INTO users (name, canonical_id, created) VALUES ('kept', 'c', 1)")
    meta = stores.open_postgres(url, None)
    try:
        await meta.ping()  # migrates
        assert [u.name for u in await meta.list_users()] == ["kept"]
    finally:
        await meta.close()
    with psycopg.connect(url, autocommit=True) as conn:
        for function in ("og_put_object", "og_delete_object", "og_delete_objects",
                         "og_complete_upload"):  # fmt: skip
            row = conn.execute("SELECT prosrc FROM pg_proc WHERE proname = %s",
                               (function,)).fetchone()  # fmt: skip
            assert row is not None and "og_lock_key" in row[0], function
        triggers = conn.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE '%notify'")
        assert len(triggers.fetchall()) == 3
        assert conn.execute("SELECT max(version) FROM og_schema").fetchone() == (
            pg_schema.SCHEMA_VERSION,
        )


async def test_a_version_10_database_gets_create_bucket_with_its_lock(url: str) -> None:
    """Version 11 adds og_create_bucket(8 arguments), which writes the bucket's lock in
    its first row; the old signature stays for the previous release's gateways (a rolling
    upgrade), and still answers."""
    lock_added = pg_schema.MIGRATIONS.index((pg_schema._OBJECT_LOCK,)) + 1
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("CREATE TABLE og_schema (version integer NOT NULL)")
        for scripts in pg_schema.MIGRATIONS[:lock_added]:
            for script in scripts:
                conn.execute(script.encode())
        # As the release before had it: seven arguments (its body does not matter here).
        conn.execute("DROP FUNCTION og_create_bucket(og_name, bigint, text, integer, text,"
                     " text, text, text)")  # fmt: skip
        conn.execute("CREATE FUNCTION og_create_bucket(og_name, bigint, text, integer, text,"
                     " text, text) RETURNS TABLE (b_id bigint, b_created double precision)"
                     " LANGUAGE sql AS 'SELECT 7::bigint, 0::float8'")  # fmt: skip
        conn.execute("INSERT INTO og_schema VALUES (%s)", (lock_added,))
    meta = stores.open_postgres(url, None)
    try:
        user = await meta.create_user("o")
        made = await meta.create_bucket("locked", user.id, "r", 10, object_lock="{}")
        got = await meta.get_bucket("locked")
        assert got is not None and got.id == made.id
        assert (got.object_lock, got.versioning) == ("{}", "Enabled")
    finally:
        await meta.close()
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT pronargs FROM pg_proc WHERE proname = 'og_create_bucket'")
        assert sorted(rows.fetchall()) == [(7,), (8,)]
        old = conn.execute("SELECT * FROM og_create_bucket('old', 1, 'r', 10, '', '', '')")
        assert old.fetchone() == (7, 0.0)
