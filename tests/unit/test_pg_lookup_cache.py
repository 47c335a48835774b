"""The PostgreSQL store's lookup cache (oortgate.meta.pg_lookups.LookupCache), without a
database: hits only while listening, a notice forgets what it names, entries are re-read
after MAX_AGE, a load that straddles a notice is not kept."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from oortgate.meta.models import AccessKey, Bucket, User
from oortgate.meta.pg_lookups import MAX_AGE, LookupCache

ALICE = User(7, "alice", "c" * 64, 1.0)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts loads; answers from ``rows`` (what the database holds now)."""

    def __init__(self) -> None:
        self.loads = 0
        self.keys: dict[str, tuple[AccessKey, User]] = {}
        self.buckets: dict[str, Bucket] = {}
        self.during: Callable[[], None] | None = None  # runs in the middle of a load

    async def key(self, name: str) -> tuple[AccessKey, User] | None:
        self.loads += 1
        found = self.keys.get(name)
        if self.during is not None:
            self.during()
        return found

    async def bucket(self, name: str) -> Bucket | None:
        self.loads += 1
        return self.buckets.get(name)


def _key(name: str, enabled: bool = True, user: User = ALICE) -> tuple[AccessKey, User]:
    return AccessKey(name, "secret", user.id, enabled, 1.0), user


def run(coro: Awaitable[object]) -> object:
    async def main() -> object:
        return await coro

    return asyncio.run(main())


def _setup() -> tuple[LookupCache, Loader, Clock]:
    clock = Clock()
    cache = LookupCache(clock)
    cache.set_listening(True)
    return cache, Loader(), clock


def test_hits_while_listening_and_bypass_otherwise() -> None:
    cache, db, _ = _setup()
    db.keys["AK"] = _key("AK")
    for _ in range(3):
        assert run(cache.credentials("AK", db.key)) == db.keys["AK"]
    assert db.loads == 1
    cache.set_listening(False)  # the LISTEN connection dropped: every lookup is read
    db.keys["AK"] = _key("AK", enabled=False)
    for _ in range(2):
        assert run(cache.credentials("AK", db.key)) == db.keys["AK"]
    assert db.loads == 3
    cache.set_listening(True)  # back: starts empty (notices were missed meanwhile)
    run(cache.credentials("AK", db.key))
    run(cache.credentials("AK", db.key))
    assert db.loads == 4


def test_a_notice_forgets_what_it_names() -> None:
    cache, db, _ = _setup()
    bob = User(8, "bob", "d" * 64, 1.0)
    db.keys |= {"A1": _key("A1"), "A2": _key("A2"), "B1": _key("B1", user=bob)}
    db.buckets["bkt"] = Bucket(1, "bkt", 7, "us-east-1", 1.0)
    db.buckets["other"] = Bucket(2, "other", 7, "us-east-1", 1.0)

    def fill() -> None:
        for name in db.keys:
            run(cache.credentials(name, db.key))
        for name in db.buckets:
            run(cache.bucket(name, db.bucket))

    fill()
    assert db.loads == 5
    cache.notice("k:A1")
    fill()
    assert db.loads == 6  # A1 only
    cache.notice("u:7")  # alice's keys (not bob's, not the buckets)
    fill()
    assert db.loads == 8
    cache.notice("b:bkt")
    fill()
    assert db.loads == 9
    cache.notice("*")  # a TRUNCATE: everything
    fill()
    assert db.loads == 14


def test_entries_are_read_again_after_max_age() -> None:
    cache, db, clock = _setup()
    db.buckets["bkt"] = Bucket(1, "bkt", 7, "us-east-1", 1.0)
    run(cache.bucket("bkt", db.bucket))
    clock.now += MAX_AGE - 0.1
    run(cache.bucket("bkt", db.bucket))
    assert db.loads == 1
    clock.now += 0.2  # no notice came, yet the entry is too old to trust
    run(cache.bucket("bkt", db.bucket))
    assert db.loads == 2


def test_unknown_names_are_not_remembered() -> None:
    cache, db, _ = _setup()
    for _ in range(3):
        assert run(cache.credentials("NOPE", db.key)) is None
    assert db.loads == 3


def test_a_load_that_straddles_a_notice_is_not_kept() -> None:
    """The row read may predate the change the notice announces: keeping it would serve
    the old key until MAX_AGE."""
    cache, db, _ = _setup()
    db.keys["AK"] = _key("AK")
    db.during = lambda: cache.notice("k:AK")
    run(cache.credentials("AK", db.key))
    db.during = None
    run(cache.credentials("AK", db.key))
    assert db.loads == 2
    run(cache.credentials("AK", db.key))
    assert db.loads == 2


def test_a_load_that_straddles_a_disconnect_is_not_kept() -> None:
    cache, db, _ = _setup()
    db.keys["AK"] = _key("AK")

    def drop_and_return() -> None:
        cache.set_listening(False)
        cache.set_listening(True)

    db.during = drop_and_return
    run(cache.credentials("AK", db.key))
    db.during = None
    run(cache.credentials("AK", db.key))
    assert db.loads == 2
