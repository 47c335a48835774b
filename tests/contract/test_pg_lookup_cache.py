"""The PostgreSQL store's lookup cache across two stores on one database (two workers or
gateways): a change through one reaches the other's cache by LISTEN/NOTIFY within a
second; with its LISTEN connection terminated, a store bypasses its cache (and still sees
changes within a second) until it has listened again; cached lookups cost no round trip."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

import psycopg
import pytest

from oortgate import stores
from oortgate.meta.pg_store import PgMetaStore
from tests import pg_service

WITHIN = 1.0  # seconds: the bound for a change to reach every gateway


@pytest.fixture
def url() -> Iterator[str]:
    database = pg_service.create_database("lookups")
    yield database
    pg_service.drop_database(database)


def _worker(url: str) -> PgMetaStore:
    """A store as a server worker opens it (its lookups cached)."""
    store = stores.open_postgres(url, None, cache_lookups=True)
    assert isinstance(store, PgMetaStore)
    return store


async def _listening(store: PgMetaStore, connects: int = 1) -> None:
    """Until the store's listener has made its ``connects``-th LISTEN."""
    assert store.listener is not None
    await store.ping()  # (a store connects, and starts listening, when first used)
    deadline = time.monotonic() + 10
    while store.listener.connects < connects or store.listener.backend_pid is None:
        assert time.monotonic() < deadline, "the listener never connected"
        await asyncio.sleep(0.01)


async def _within(seconds: float, probe: Callable[[], Awaitable[object]], wanted: object) -> float:
    """How long until ``probe()`` answers ``wanted`` (fails past ``seconds``)."""
    started = time.monotonic()
    while True:
        if await probe() == wanted:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"still not {wanted!r} after {seconds} s"
        await asyncio.sleep(0.005)


async def test_a_key_disabled_through_one_store_is_refused_by_the_other(url: str) -> None:
    a, b = _worker(url), _worker(url)
    try:
        user = await a.create_user("alice")
        await a.create_key(user.id, "AKALICE", "secret")
        await _listening(a)
        await _listening(b)

        async def enabled() -> bool | None:
            await b.refresh()
            found = await b.get_credentials("AKALICE")
            return None if found is None else found[0].enabled

        assert await enabled() is True
        calls = b.calls
        assert await enabled() is True  # remembered: no round trip
        assert b.calls == calls
        assert await a.set_key_enabled("AKALICE", False)
        await _within(WITHIN, enabled, False)
        assert await a.delete_key("AKALICE")
        await _within(WITHIN, enabled, None)
    finally:
        await a.close()
        await b.close()


async def test_bucket_changes_and_user_deletes_reach_the_other_store(url: str) -> None:
    a, b = _worker(url), _worker(url)
    try:
        user = await a.create_user("bob")
        await a.create_key(user.id, "AKBOB", "secret")
        bucket = await a.create_bucket("bkt", user.id, "us-east-1", 10)
        await _listening(b)

        async def acl() -> str | None:
            found = await b.get_bucket("bkt")
            return None if found is None else found.acl

        async def has_key() -> bool:
            return await b.get_credentials("AKBOB") is not None

        assert await acl() == "private" and await has_key()
        await a.set_bucket_acl(bucket.id, "public-read")
        await _within(WITHIN, acl, "public-read")
        await a.delete_bucket(bucket.id)
        await _within(WITHIN, acl, None)
        await a.delete_user(user.id)  # and its keys with it
        await _within(WITHIN, has_key, False)
    finally:
        await a.close()
        await b.close()


async def test_a_write_through_the_store_itself_is_seen_at_once(url: str) -> None:
    a = _worker(url)
    try:
        user = await a.create_user("carol")
        await a.create_key(user.id, "AKCAROL", "secret")
        await _listening(a)
        found = await a.get_credentials("AKCAROL")
        assert found is not None and found[0].enabled
        assert await a.set_key_enabled("AKCAROL", False)
        found = await a.get_credentials("AKCAROL")  # not waiting for its own notice
        assert found is not None and not found[0].enabled
    finally:
        await a.close()


def _terminate(pid: int) -> None:
    with psycopg.connect(pg_service.server_url(), autocommit=True) as conn:
        row = conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()
        assert row == (True,)


async def test_without_its_listen_connection_a_store_bypasses_its_cache(url: str) -> None:
    a, b = _worker(url), _worker(url)
    try:
        user = await a.create_user("dave")
        await a.create_key(user.id, "AKDAVE", "secret")
        await _listening(b)
        assert b.listener is not None and b.listener.backend_pid is not None

        async def enabled() -> bool | None:
            found = await b.get_credentials("AKDAVE")
            return None if found is None else found[0].enabled

        assert await enabled() is True
        calls = b.calls
        assert await enabled() is True and b.calls == calls  # cached
        _terminate(b.listener.backend_pid)
        # While the listener is gone its notices are lost: the change must be seen
        # anyway (the cache is flushed and bypassed until LISTEN is back).
        assert await a.set_key_enabled("AKDAVE", False)
        await _within(WITHIN, enabled, False)
        await _listening(b, connects=2)  # it reconnects by itself
        assert await enabled() is False
        calls = b.calls
        assert await enabled() is False and b.calls == calls  # cached again
        assert await a.set_key_enabled("AKDAVE", True)
        await _within(WITHIN, enabled, True)  # and notices work again
    finally:
        await a.close()
        await b.close()


async def test_while_disconnected_every_lookup_is_read(url: str) -> None:
    """The bypass itself, held open: the listener cannot connect again (its database
    takes no new connections), so nothing is remembered: every lookup is a round trip."""
    a = _worker(url)
    try:
        user = await a.create_user("erin")
        await a.create_key(user.id, "AKERIN", "secret")
        await _listening(a)
        assert a.listener is not None and a.listener.backend_pid is not None
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(pg_service.server_url(), autocommit=True) as conn:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'.encode())
        try:
            await a.get_credentials("AKERIN")  # (the pool's connection is already open)
            _terminate(a.listener.backend_pid)
            deadline = time.monotonic() + WITHIN
            while a.listener.backend_pid is not None:
                assert time.monotonic() < deadline, "the lost connection went unnoticed"
                await asyncio.sleep(0.005)
            calls = a.calls
            for _ in range(3):
                assert await a.get_credentials("AKERIN") is not None
            assert a.calls == calls + 3
        finally:
            with psycopg.connect(pg_service.server_url(), autocommit=True) as conn:
                conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'.encode())
        await _listening(a, connects=2)
        calls = a.calls
        for _ in range(3):
            await a.get_credentials("AKERIN")
        assert a.calls == calls + 1
    finally:
        await a.close()
